;;; now.el --- nowls client: provenance of Python scripts in Emacs  -*- lexical-binding: t; -*-

;; Version: 0.1.0
;; Package-Requires: ((emacs "28.1") (eglot "1.9"))
;; Keywords: languages, tools

;;; Commentary:

;; A client for nowls's language server (`now lsp --stdio'): hovers show the
;; provenance of Python variables and functions, diagnostics show a trial's
;; exception, and commands run trials (`now-run', and the "Run trial" code
;; actions, both asking for the script's arguments with the last trial's as the
;; default), pick the trial hovers use
;; (`now-select-trial'), show graphs (`now-graph') and diffs (`now-diff'), and
;; restore a file as a trial had it (`now-restore').
;;
;; `now-mode' connects the buffer to nowls.  By default (`now-connection') it
;; does so on a connection of its own (jsonrpc.el, Eglot's transport) beside
;; the buffer's Eglot server: pyright & co keep working, nowls's hovers join
;; theirs in Eldoc, its diagnostics come from the Flymake backend
;; `now-flymake-backend', and `now-code-actions' offers both servers' code
;; actions in one menu.  Users with no other Python server can make nowls the
;; Eglot server of python-mode instead (`now-eglot-register').  With
;; lsp-mode, nowls is registered as an add-on server that runs beside the
;; Python one, and the commands reach it there.  See README.md.

;;; Code:

(require 'cl-lib)
(require 'subr-x)
(require 'jsonrpc)
(require 'eglot)

(defvar lsp--cur-workspace)             ; lsp-mode's, bound around its requests
(defvar lsp-response-timeout)

(defgroup now nil
  "Client of nowls, the provenance language server."
  :group 'tools
  :prefix "now-")

(defcustom now-server-command '("now" "lsp" "--stdio")
  "Command that starts nowls's language server."
  :type '(repeat string))

(defcustom now-request-timeout 30
  "Seconds to wait for a synchronous nowls request."
  :type 'number)

(defcustom now-run-timeout 600
  "Seconds to wait for `now/run' before giving up on its answer."
  :type 'number)

(defvar now-last-finished nil
  "The TrialSummary (a plist) of the last `now/trialFinished' notification.")

(defvar now-trial-finished-functions nil
  "Functions called with the TrialSummary plist of each finished trial.")

;;;; Server registration

(defun now--contact (&optional _interactive)
  "The contact Eglot uses to start nowls."
  now-server-command)

(defun now-eglot-register ()
  "Make nowls the Eglot server of `python-mode' (and `python-ts-mode')."
  (dolist (mode '(python-mode python-ts-mode))
    (setq eglot-server-programs
          (cons (cons mode #'now--contact)
                (cl-remove-if (lambda (e) (eq (car e) mode)) eglot-server-programs)))))

(defcustom now-register-with-eglot nil
  "Non-nil: loading now.el makes nowls python-mode's server in Eglot.
Eglot keeps one server per major mode, so this replaces pyright & co;
see README.md."
  :type 'boolean)

(when now-register-with-eglot (now-eglot-register))

(declare-function lsp-register-client "lsp-mode")
(declare-function make-lsp-client "lsp-mode")
(declare-function lsp-stdio-connection "lsp-mode")
(declare-function lsp-activate-on "lsp-mode")

(defun now--get (obj key)
  "KEY (a keyword) of OBJ, a plist (Eglot) or a hash table (lsp-mode)."
  (if (hash-table-p obj)
      (gethash (substring (symbol-name key) 1) obj)
    (plist-get obj key)))

(with-eval-after-load 'lsp-mode
  (when (and (fboundp 'lsp-register-client) (fboundp 'make-lsp-client))
    (funcall
     'lsp-register-client
     (funcall 'make-lsp-client
              :new-connection (funcall 'lsp-stdio-connection (lambda () now-server-command))
              :activation-fn (funcall 'lsp-activate-on "python")
              :major-modes '(python-mode python-ts-mode)
              :add-on? t
              :priority -2
              :server-id 'nowls
              ;; lsp-mode's code-action menu hands nowls's now.runTrial to this
              ;; instead of the server: ask for the arguments first.
              :action-handlers
              (let ((h (make-hash-table :test 'equal)))
                (puthash "now.runTrial"
                         (lambda (command)
                           (now--run-trial-command (now--server) (vconcat (now--get command :arguments))))
                         h)
                h)
              :notification-handlers
              (let ((h (make-hash-table :test 'equal)))
                (puthash "now/trialFinished"
                         (lambda (_workspace params)
                           (now--trial-finished (now--to-plist (now--get params :trial))))
                         h)
                h)))))

;;;; Minor mode: nowls in this buffer through Eglot

(defcustom now-project-root-by-dot-now t
  "When non-nil, Eglot's project root is the nearest folder with a `.now' store.
Only while Eglot looks for a project (`eglot-lsp-context'), so `project.el'
commands are not affected.  That is where `now' keeps the trials, also when the
folder is inside a larger Git repository."
  :type 'boolean)

(defun now-project-find (dir)
  "For `project-find-functions': the nearest folder above DIR with `.now'.
Only while Eglot looks for its project."
  (when (and now-project-root-by-dot-now (bound-and-true-p eglot-lsp-context))
    (let ((root (locate-dominating-file dir ".now")))
      (and root (cons 'transient (file-name-as-directory (expand-file-name root)))))))

(add-hook 'project-find-functions #'now-project-find)

(defvar eglot-lsp-context)

(defun now--project ()
  "The project as Eglot sees it."
  (let ((eglot-lsp-context t))
    (or (project-current) (cons 'transient default-directory))))

;;;; Two ways to reach nowls

(defcustom now-connection 'auto
  "How `now-mode' talks to nowls.
`own': a connection of now.el's own (jsonrpc.el, Eglot's transport), beside
  whatever Eglot or lsp-mode manages in the buffer: pyright & co keep working;
  nowls's hovers go to Eldoc, its diagnostics to Flymake (backend
  `now-flymake-backend'), its code actions to `now-code-actions'.
`eglot': nowls is the buffer's Eglot server (Eglot has one per major mode and
  project, so it replaces another one such as pyright).
`auto': `eglot' when nowls already is the buffer's Eglot server or the mode's
  entry in `eglot-server-programs' (`now-eglot-register'), else `own'."
  :type '(choice (const auto) (const own) (const eglot)))

(defcustom now-eldoc-strategy #'eldoc-documentation-compose
  "Eldoc strategy `now-mode' sets in the buffer when it uses its own connection.
Eglot sets `eldoc-documentation-enthusiast', which shows one documentation
string only; the default shows nowls's hover together with the other server's.
nil leaves the buffer's strategy alone."
  :type '(choice (const :tag "Leave alone" nil) function))

(defcustom now-connect-timeout 30
  "Seconds to wait for nowls to answer `initialize' (own connection)."
  :type 'number)

(defcustom now-initialization-options nil
  "`initializationOptions' sent to nowls by the own connection, a plist.
For example (:inlayHints t)."
  :type 'sexp)

(defclass now-server (jsonrpc-process-connection)
  ((root :initarg :root :accessor now--server-root)
   (capabilities :initform nil :accessor now--server-capabilities)
   (buffers :initform nil :accessor now--server-buffers))
  :documentation "A connection to nowls that Eglot does not manage.")

(defvar-local now--conn nil
  "The buffer's own connection to nowls (a `now-server'), when `now-mode' uses one.")

(defun now--use-eglot-p ()
  "Non-nil if `now-mode' should go through Eglot in this buffer."
  (pcase now-connection
    ('eglot t)
    ('own nil)
    (_ (let ((server (eglot-current-server)))
         (if server
             (now--nowls-p server)
           (let ((entry (cl-find-if (lambda (e)
                                      (let ((m (car e)))
                                        (if (listp m) (memq major-mode m) (eq m major-mode))))
                                    eglot-server-programs)))
             (eq (cdr entry) #'now--contact)))))))

;;;###autoload
(define-minor-mode now-mode
  "nowls in the current buffer: hovers, diagnostics, code actions and commands.
See `now-connection': by default nowls gets a connection of its own beside the
buffer's Eglot server (pyright & co), unless nowls is registered as the Eglot
server of the major mode (`now-eglot-register')."
  :lighter " now"
  (cond
   ((and now-mode (now--use-eglot-p))
    (let ((server (eglot-current-server)))
      (unless (and server (jsonrpc-running-p server) (now--nowls-p server))
        (eglot (list major-mode) (now--project) 'eglot-lsp-server now-server-command "python"))))
   (now-mode (now--own-on))
   (now--conn (now--own-off))
   (t
    (let ((server (eglot-current-server)))
      (when (and server (now--nowls-p server))
        (eglot-shutdown server))))))

(defun now--nowls-p (server)
  "Non-nil if SERVER announces nowls's custom methods."
  (let ((exp (cond ((cl-typep server 'now-server)
                    (plist-get (now--server-capabilities server) :experimental))
                   ((now--lsp-workspace-p server)
                    (now--get (lsp--workspace-server-capabilities server) :experimental))
                   (t (plist-get (eglot--capabilities server) :experimental)))))
    (and exp (now--get exp :now) t)))

(defun now--server ()
  "The connection to nowls of the current buffer, or an error.
The own connection of `now-mode', else lsp-mode's nowls workspace, else the
buffer's Eglot server if it is nowls."
  (cond
   ((and now--conn (jsonrpc-running-p now--conn)) now--conn)
   ((now--lsp-workspace))
   (t
    (let ((server (eglot-current-server)))
      (unless server (user-error "nowls: not connected here (M-x now-mode)"))
      (unless (now--nowls-p server)
        (user-error "nowls: this buffer's Eglot server is not nowls (M-x now-mode)"))
      server))))

(defun now--sync (server)
  "Tell SERVER about unsent changes of the current buffer."
  (cond ((cl-typep server 'now-server) (now--flush-changes))
        ((now--lsp-workspace-p server)
         (when (fboundp 'lsp--flush-delayed-changes) (lsp--flush-delayed-changes)))
        ((bound-and-true-p eglot--managed-mode)
         (eglot--signal-textDocument/didChange))))

(defmacro now--in-lsp-workspace (server timeout &rest body)
  "BODY with lsp-mode's requests going to SERVER, a workspace, with TIMEOUT."
  (declare (indent 2))
  `(let ((lsp--cur-workspace ,server)
         (lsp-response-timeout (or ,timeout now-request-timeout)))
     ,@body))

(defun now--lsp-method (method)
  "lsp-mode's name of METHOD, a keyword: \"now/run\" for :now/run."
  (substring (symbol-name method) 1))

(defun now--request-to (server method params &optional timeout)
  "Send METHOD with PARAMS to SERVER and wait for the answer (a plist)."
  (now--sync server)
  (if (now--lsp-workspace-p server)
      (now--in-lsp-workspace server timeout
        (now--to-plist (lsp-request (now--lsp-method method) params)))
    (jsonrpc-request server method params :timeout (or timeout now-request-timeout))))

(defun now--request (method params &optional timeout)
  "Send METHOD with PARAMS to nowls and wait for the answer."
  (now--request-to (now--server) method params timeout))

(cl-defun now--async-request (server method params &key success-fn error-fn timeout)
  "Send METHOD with PARAMS to SERVER; SUCCESS-FN or ERROR-FN get a plist."
  (now--sync server)
  (if (now--lsp-workspace-p server)
      (now--in-lsp-workspace server timeout
        (lsp-request-async (now--lsp-method method) params
                           (lambda (res) (funcall success-fn (now--to-plist res)))
                           :error-handler (lambda (err) (funcall error-fn (now--to-plist err)))
                           :mode 'detached))
    (jsonrpc-async-request server method params :timeout timeout
                           :success-fn success-fn :error-fn error-fn)))

(defun now--uri ()
  (plist-get (eglot--TextDocumentIdentifier) :uri))

(defun now--text ()
  "The whole text of the buffer, also when narrowed."
  (save-restriction (widen) (buffer-substring-no-properties (point-min) (point-max))))

(defun now--range (beg end)
  "The LSP Range of BEG..END."
  (list :start (eglot--pos-to-lsp-position beg) :end (eglot--pos-to-lsp-position end)))

(defun now--trial-arg (x)
  "X, a trial: a number when it is a string of digits."
  (if (and (stringp x) (string-match-p "\\`[0-9]+\\'" x)) (string-to-number x) x))

(defun now--apply-edit (server wedit)
  "Apply WEDIT, a WorkspaceEdit from SERVER."
  (if (or (cl-typep server 'now-server) (now--lsp-workspace-p server))
      (now--apply-workspace-edit wedit)
    (eglot--apply-workspace-edit wedit)))

;;;; lsp-mode: nowls as the add-on server of the buffer

(declare-function lsp-workspaces "lsp-mode")
(declare-function lsp-request "lsp-mode")
(declare-function lsp-request-async "lsp-mode")
(declare-function lsp--flush-delayed-changes "lsp-mode")
(declare-function lsp--workspace-p "lsp-mode")
(declare-function lsp--workspace-client "lsp-mode")
(declare-function lsp--workspace-server-capabilities "lsp-mode")
(declare-function lsp--client-server-id "lsp-mode")

(defun now--lsp-workspace-p (server)
  (and (fboundp 'lsp--workspace-p) (lsp--workspace-p server)))

(defun now--lsp-workspace ()
  "lsp-mode's nowls workspace of the current buffer, if any."
  (and (bound-and-true-p lsp-mode) (fboundp 'lsp-workspaces)
       (cl-find-if (lambda (w) (eq (lsp--client-server-id (lsp--workspace-client w)) 'nowls))
                   (let ((lsp--cur-workspace nil)) (lsp-workspaces)))))

(defun now--to-plist (obj)
  "OBJ with lsp-mode's hash tables turned into plists, as Eglot gives them."
  (cond ((hash-table-p obj)
         (let (pl)
           (maphash (lambda (k v) (setq pl (cons (now--to-plist v) (cons (intern (concat ":" k)) pl)))) obj)
           (nreverse pl)))
        ((and (consp obj) (keywordp (car obj)))         ; lsp-use-plists
         (cl-loop for (k v) on obj by #'cddr nconc (list k (now--to-plist v))))
        ;; JSON arrays are vectors, but lsp-mode's merge of results makes them lists.
        ((or (vectorp obj) (consp obj)) (vconcat (mapcar #'now--to-plist obj)))
        (t obj)))

;;;; The own connection: nowls beside Eglot's server

(defvar now--servers (make-hash-table :test #'equal)
  "Project root -> the `now-server' running for it.")

(defvar-local now--version 0 "Version of the buffer's text as nowls knows it.")
(defvar-local now--changed nil "Non-nil when the buffer changed since nowls last heard.")
(defvar-local now--change-timer nil)
(defvar-local now--diagnostics nil "nowls's Flymake diagnostics of the buffer.")
(defvar-local now--flymake-report-fn nil)

(defun now--client-capabilities ()
  "What now.el's own connection tells nowls it supports.
Markdown hovers only when `gfm-view-mode' (markdown-mode) can render them,
as Eglot does."
  (list :workspace (list :applyEdit t :configuration t
                         :workspaceFolders t
                         :executeCommand (list :dynamicRegistration :json-false))
        :textDocument
        (list :synchronization (list :dynamicRegistration :json-false
                                     :willSave :json-false :willSaveWaitUntil :json-false
                                     :didSave t)
              :hover (list :dynamicRegistration :json-false
                           :contentFormat (if (fboundp 'gfm-view-mode)
                                              ["markdown" "plaintext"]
                                            ["plaintext"]))
              :publishDiagnostics (list :relatedInformation :json-false)
              :codeAction (list :dynamicRegistration :json-false
                                :codeActionLiteralSupport
                                (list :codeActionKind
                                      (list :valueSet ["quickfix" "refactor" "source" ""]))))
        :window (list :workDoneProgress :json-false)
        :experimental (make-hash-table)))

(defun now--start (root)
  "Start nowls for the project at ROOT on a connection of its own."
  (let* ((name (format "nowls %s" (file-name-nondirectory (directory-file-name root))))
         (default-directory root)
         (server
          (make-instance
           'now-server
           :name name :root root
           :events-buffer-scrollback-size 200000
           :notification-dispatcher #'now--handle-notification
           :request-dispatcher #'now--handle-request
           :on-shutdown #'now--on-shutdown
           :process (lambda ()
                      (make-process
                       :name name :command now-server-command
                       :connection-type 'pipe :coding 'utf-8-emacs-unix :noquery t
                       :stderr (get-buffer-create (format "*%s stderr*" name)))))))
    (condition-case err
        (let ((res (jsonrpc-request
                    server :initialize
                    (list :processId (emacs-pid)
                          :clientInfo (list :name "now.el")
                          :rootPath (expand-file-name root)
                          :rootUri (eglot--path-to-uri root)
                          :workspaceFolders (vector (list :uri (eglot--path-to-uri root)
                                                          :name (directory-file-name root)))
                          :initializationOptions (or now-initialization-options (make-hash-table))
                          :capabilities (now--client-capabilities))
                    :timeout now-connect-timeout)))
          (setf (now--server-capabilities server) (plist-get res :capabilities))
          (jsonrpc-notify server :initialized (make-hash-table)))
      (error (ignore-errors (jsonrpc-shutdown server))
             (signal (car err) (cdr err))))
    (puthash root server now--servers)
    server))

(defun now--shutdown (server)
  "Ask SERVER to shut down and wait for its process to end."
  (ignore-errors (jsonrpc-request server :shutdown nil :timeout 3))
  (ignore-errors (jsonrpc-notify server :exit nil))
  ;; Give it a moment to exit by itself before `jsonrpc-shutdown' kills it.
  (with-timeout (2)
    (while (jsonrpc-running-p server) (accept-process-output nil 0.05)))
  (ignore-errors (jsonrpc-shutdown server)))

(defun now-shutdown-all ()
  "Shut down every nowls that `now-mode' started on its own connection."
  (interactive)
  (dolist (s (hash-table-values now--servers)) (now--shutdown s)))

(defun now--on-shutdown (server)
  (remhash (now--server-root server) now--servers)
  (dolist (buf (now--server-buffers server))
    (when (buffer-live-p buf)
      (with-current-buffer buf
        (when (eq now--conn server)
          (setq now--conn nil now--diagnostics nil)
          (when now--flymake-report-fn
            (ignore-errors (now--report-to-flymake)))
          (setq now-mode nil)
          (now--remove-hooks)))))
  (message "nowls: server for %s stopped" (now--server-root server)))

(defun now--own-on ()
  "Connect the buffer to nowls on the own connection and open the document."
  (unless buffer-file-name
    (setq now-mode nil)
    (user-error "nowls: the buffer visits no file"))
  (if (and now--conn (jsonrpc-running-p now--conn)) ; `now-mode' on again
      (now--add-hooks)
    (now--own-connect)))

(defun now--own-connect ()
  (let* ((root (file-name-as-directory (expand-file-name (project-root (now--project)))))
         (server (gethash root now--servers)))
    (unless (and server (jsonrpc-running-p server))
      (setq server (now--start root)))
    (setq now--conn server now--version 0 now--changed nil now--diagnostics nil)
    (cl-pushnew (current-buffer) (now--server-buffers server))
    (now--add-hooks)
    (jsonrpc-notify server :textDocument/didOpen
                    (list :textDocument
                          (list :uri (now--uri) :languageId "python" :version now--version
                                :text (now--text))))
    (unless (bound-and-true-p flymake-mode) (flymake-mode 1))
    (unless (bound-and-true-p eldoc-mode) (eldoc-mode 1))))

(defun now--own-off ()
  "Close the document; the last buffer of a server shuts it down."
  (let ((server now--conn))
    (now--remove-hooks)
    (setq now--diagnostics nil)
    (when now--flymake-report-fn (ignore-errors (now--report-to-flymake)))
    (setq now--conn nil now--flymake-report-fn nil)
    (when (and server (jsonrpc-running-p server))
      (ignore-errors
        (jsonrpc-notify server :textDocument/didClose
                        (list :textDocument (eglot--TextDocumentIdentifier))))
      (setf (now--server-buffers server) (delq (current-buffer) (now--server-buffers server)))
      (unless (now--server-buffers server) (now--shutdown server)))))

(defun now--kill-buffer ()
  (when now--conn (now--own-off)))

(defun now--add-hooks ()
  (add-hook 'after-change-functions #'now--after-change nil t)
  (add-hook 'after-save-hook #'now--did-save nil t)
  (add-hook 'kill-buffer-hook #'now--kill-buffer nil t)
  ;; A new major mode kills the buffer-local state: close the document first.
  (add-hook 'change-major-mode-hook #'now--kill-buffer nil t)
  (now--add-ui-hooks))

(defun now--add-ui-hooks ()
  "Put nowls beside the other servers in Eldoc and Flymake.
Eglot replaces both hooks' buffer values when it starts managing a buffer,
so this runs again from `eglot-managed-mode-hook'."
  (add-hook 'eldoc-documentation-functions #'now-eldoc-function t t)
  (add-hook 'flymake-diagnostic-functions #'now-flymake-backend t t)
  (when now-eldoc-strategy
    (setq-local eldoc-documentation-strategy now-eldoc-strategy)))

(defun now--remove-hooks ()
  (remove-hook 'after-change-functions #'now--after-change t)
  (remove-hook 'after-save-hook #'now--did-save t)
  (remove-hook 'kill-buffer-hook #'now--kill-buffer t)
  (remove-hook 'change-major-mode-hook #'now--kill-buffer t)
  (remove-hook 'eldoc-documentation-functions #'now-eldoc-function t)
  (remove-hook 'flymake-diagnostic-functions #'now-flymake-backend t))

(defun now--eglot-managed ()
  "After Eglot starts or stops managing a buffer, put nowls back in its hooks."
  (when now--conn (now--add-ui-hooks)))

(add-hook 'eglot-managed-mode-hook #'now--eglot-managed)

;;;;; Text synchronisation: the whole text, a moment after the last change

(defun now--after-change (&rest _)
  (setq now--changed t)
  (when now--change-timer (cancel-timer now--change-timer))
  (let ((buf (current-buffer)))
    (setq now--change-timer
          (run-with-timer 0.3 nil (lambda ()
                                    (when (buffer-live-p buf)
                                      (with-current-buffer buf (now--flush-changes))))))))

(defun now--flush-changes ()
  "Send the buffer's text to nowls if it changed (`textDocument/didChange')."
  (when now--change-timer (cancel-timer now--change-timer) (setq now--change-timer nil))
  (when (and now--changed now--conn (jsonrpc-running-p now--conn))
    (setq now--changed nil)
    (jsonrpc-notify now--conn :textDocument/didChange
                    (list :textDocument (list :uri (now--uri) :version (cl-incf now--version))
                          :contentChanges
                          (vector (list :text (now--text)))))))

(defun now--did-save ()
  (when (and now--conn (jsonrpc-running-p now--conn))
    (now--flush-changes)
    (jsonrpc-notify now--conn :textDocument/didSave
                    (list :textDocument (eglot--TextDocumentIdentifier)))))

;;;;; What nowls sends

(defun now--handle-notification (server method params)
  "Notifications from nowls on the own connection."
  (pcase method
    ('now/trialFinished (now--trial-finished (plist-get params :trial)))
    ('textDocument/publishDiagnostics (now--publish-diagnostics server params))
    ('window/showMessage (message "nowls: %s" (plist-get params :message)))
    (_ nil)))

(defun now--handle-request (server method params)
  "Requests from nowls on the own connection."
  (pcase method
    ('workspace/configuration
     (vconcat (mapcar (lambda (_) nil) (plist-get params :items))))
    ((or 'client/registerCapability 'client/unregisterCapability
         'window/workDoneProgress/create)
     nil)
    ('workspace/workspaceFolders
     (vector (list :uri (eglot--path-to-uri (now--server-root server))
                   :name (directory-file-name (now--server-root server)))))
    ('workspace/applyEdit
     (now--apply-workspace-edit (plist-get params :edit))
     (list :applied t))
    (_ (jsonrpc-error :code -32601 :message (format "now.el: %s not supported" method)))))

(defun now--publish-diagnostics (_server params)
  (let* ((path (eglot--uri-to-path (plist-get params :uri)))
         (buf (find-buffer-visiting path)))
    (when (and buf (buffer-local-value 'now--conn buf))
      (with-current-buffer buf
        (setq now--diagnostics
              (cl-loop
               for d across (plist-get params :diagnostics)
               for range = (plist-get d :range)
               for sev = (plist-get d :severity)
               for code = (plist-get d :code)
               for region = (save-restriction (widen) (eglot--range-region range))
               for beg = (car region) for end = (cdr region)
               do (when (= beg end)
                    (let ((r (flymake-diag-region
                              buf (1+ (plist-get (plist-get range :start) :line))
                              (plist-get (plist-get range :start) :character))))
                      (when r (setq beg (car r) end (cdr r)))))
               collect (flymake-make-diagnostic
                        buf beg end
                        (cond ((or (null sev) (<= sev 1)) :error) ((= sev 2) :warning) (t :note))
                        (concat (or (plist-get d :source) "nowls")
                                (and code (format " [%s]" code)) ": " (plist-get d :message))
                        `((now-lsp-diag . ,d)))))
        (when now--flymake-report-fn (now--report-to-flymake))))))

(defun now-flymake-backend (report-fn &rest _)
  "Flymake backend of nowls's diagnostics (own connection)."
  (if now--conn
      (progn (setq now--flymake-report-fn report-fn)
             (now--report-to-flymake))
    (funcall report-fn nil)))

(defun now--report-to-flymake ()
  (save-restriction
    (widen)
    (funcall now--flymake-report-fn now--diagnostics
             :region (cons (point-min) (point-max)))))

(defun now--hover-text (contents)
  "The text of a hover's CONTENTS (MarkupContent, MarkedString or a vector)."
  (cond ((fboundp 'eglot--hover-info) (eglot--hover-info contents))
        ((stringp contents) contents)
        ((vectorp contents) (mapconcat #'now--hover-text contents "\n"))
        (t (plist-get contents :value))))

(defun now-eldoc-function (cb)
  "Eldoc documentation function: nowls's hover at point (own connection)."
  (when (and now--conn (jsonrpc-running-p now--conn)
             (plist-get (now--server-capabilities now--conn) :hoverProvider))
    (now--flush-changes)
    (let ((buf (current-buffer)))
      (jsonrpc-async-request
       now--conn :textDocument/hover
       (list :textDocument (eglot--TextDocumentIdentifier)
             :position (eglot--pos-to-lsp-position))
       :success-fn (lambda (res)
                     (when (buffer-live-p buf)
                       (with-current-buffer buf
                         (let ((contents (plist-get res :contents)))
                           (funcall cb (and contents (not (seq-empty-p contents))
                                            (now--hover-text contents)))))))
       :error-fn (lambda (_err) (funcall cb nil))
       :timeout-fn (lambda () (funcall cb nil))))
    t))

(defun now--apply-workspace-edit (wedit)
  "Apply WEDIT, a WorkspaceEdit, to the buffers of its files (not saved)."
  (let ((prepared
         (append
          (cl-loop for dc across (or (plist-get wedit :documentChanges) [])
                   when (plist-get dc :edits)
                   collect (list (eglot--uri-to-path (plist-get (plist-get dc :textDocument) :uri))
                                 (plist-get dc :edits)
                                 (plist-get (plist-get dc :textDocument) :version)))
          (unless (plist-get wedit :documentChanges)
            (cl-loop for (uri edits) on (plist-get wedit :changes) by #'cddr
                     collect (list (eglot--uri-to-path (if (symbolp uri) (substring (symbol-name uri) 1) uri))
                                   edits nil))))))
    (dolist (p prepared)
      (with-current-buffer (find-file-noselect (car p))
        (let ((version (nth 2 p)))
          (when (and version now--conn (not (equal version now--version)))
            (error "nowls: the edit is for version %s of %s, the buffer is at %s"
                   version (buffer-name) now--version)))
        (eglot--apply-text-edits (nth 1 p))
        (now--flush-changes)))
    prepared))

;;;; Notification

(defun now--trial-finished (trial)
  (setq now-last-finished trial)
  (message "nowls: trial %s of %s finished (%s, exit %s)"
           (now--get trial :id) (now--get trial :script)
           (now--get trial :status) (now--get trial :exit_code))
  (run-hook-with-args 'now-trial-finished-functions trial))

(cl-defmethod eglot-handle-notification
  (_server (_method (eql now/trialFinished)) &key trial &allow-other-keys)
  "A trial of the project ended."
  (now--trial-finished trial))

;;;; Commands

(defun now--describe (trial)
  (format "%s %s %s" (plist-get trial :id)
          (mapconcat #'identity (append (plist-get trial :argv) nil) " ")
          (plist-get trial :status)))

;;;;; Running: the script's arguments, the last trial's as the default

(defun now--last-args ()
  "The arguments of the last trial whose script is the buffer's file, a list.
The trial's argv without the script; nil when no trial ran it."
  (let* ((root (ignore-errors (project-root (now--project))))
         (rel (and root buffer-file-name
                   (file-relative-name buffer-file-name (expand-file-name root))))
         (trial (and rel
                     (cl-find-if (lambda (tr)
                                   ;; A backup trial (now restore) ran nothing: empty argv.
                                   (and (equal (plist-get tr :script) rel)
                                        (> (length (plist-get tr :argv)) 0)))
                                 (reverse (now-trials))))))
    (and trial (cdr (append (plist-get trial :argv) nil)))))

(defun now--read-args (file default fine)
  "Ask for the arguments of FILE's run, DEFAULT (a list) as the editable text.
FINE: the run records values.  Quoted as `split-string-and-unquote' reads them
back, so an argument with spaces survives; \[keyboard-quit] runs nothing."
  (split-string-and-unquote
   (read-string (format "nowls: arguments of %s%s: " (file-name-nondirectory file)
                        (if fine ", run with values" ""))
                (combine-and-quote-strings default))))

(defun now--run-async (server method params what)
  "Send METHOD with PARAMS to SERVER to run WHAT; the answer as messages.
METHOD is `now/run' or `workspace/executeCommand' of now.runTrial, which both
answer {trial, exitCode} when the trial ends."
  (message "nowls: running %s" what)
  (now--async-request
   server method params
   :timeout now-run-timeout
   :success-fn (lambda (res)
                 (message "nowls: trial %s finished, exit code %s"
                          (plist-get (plist-get res :trial) :id)
                          (plist-get res :exitCode)))
   :error-fn (lambda (err)
               (message "nowls: run failed: %s" (plist-get err :message)))))

(defun now--run-what (file args fine)
  (concat (if fine "(fine) " "") (file-name-nondirectory file)
          (if args (concat " " (combine-and-quote-strings args)) "")))

(defun now--run-trial-command (server arguments)
  "The \"Run trial\" code actions' command on SERVER: ARGUMENTS [uri args fine].
Asks for the arguments with ARGS (the last trial's) as the default, then sends
the command with them."
  (let* ((uri (aref arguments 0))
         (given (and (> (length arguments) 1) (aref arguments 1)))
         (fine (and (> (length arguments) 2) (eq (aref arguments 2) t)))
         (file (eglot--uri-to-path uri))
         (args (now--read-args file (append given nil) fine)))
    (now--run-async server :workspace/executeCommand
                    (list :command "now.runTrial"
                          :arguments (vector uri (vconcat args) (if fine t :json-false)))
                    (now--run-what file args fine))))

;; Eglot's own code-action menu (`eglot-code-actions') executes commands through
;; this generic function (Eglot before 1.16).
(cl-defmethod eglot-execute-command :around (server command arguments)
  "nowls's now.runTrial asks for the script's arguments first."
  (if (and (equal (format "%s" command) "now.runTrial") (now--nowls-p server))
      (now--run-trial-command server (vconcat arguments))
    (cl-call-next-method)))

;;;###autoload
(defun now-run (args &optional fine)
  "Run the current buffer's script as a new trial with ARGS (`now/run').
ARGS is a string split as a shell would (quotes keep spaces) or a list.
Interactively, asks for them with the last trial's arguments as the default.
With a prefix argument, FINE: record variable values too.  Returns at once;
the answer and `now/trialFinished' are shown as messages."
  (interactive (list (now--read-args (or buffer-file-name "") (now--last-args) current-prefix-arg)
                     current-prefix-arg))
  (let ((server (now--server))
        (argv (if (listp args) args (split-string-and-unquote args))))
    (now--sync server)
    (now--run-async server :now/run
                    (list :uri (now--uri) :args (vconcat argv) :fine (if fine t :json-false))
                    (now--run-what (or buffer-file-name "") argv fine))))

(defun now-trials ()
  "The project's trials (`now/trials'), oldest first, as a list of plists."
  (append (now--request :now/trials nil) nil))

;;;###autoload
(defun now-select-trial (trial)
  "Make TRIAL the trial of this buffer's hovers and diagnostics.
TRIAL nil goes back to the default, the latest trial of the file."
  (interactive
   (let* ((trials (now-trials))
          (cands (cons "default (latest trial of the file)"
                       (mapcar #'now--describe trials)))
          (pick (completing-read "nowls trial: " cands nil t)))
     (list (and (string-match "\\`\\([0-9]+\\) " pick)
                (string-to-number (match-string 1 pick))))))
  (let ((res (now--request :now/selectTrial
                           (list :uri (now--uri) :trial trial))))
    (message "nowls: hovers show trial %s" (plist-get res :id))
    res))

(defun now-graph-text (&optional kind trial format)
  "The `now/graph' of KIND (default activation) for TRIAL as FORMAT (default dot)."
  (now--request :now/graph
                (append (list :kind (or kind "activation") :format (or format "dot"))
                        (and trial (list :trial trial)))))

(defun now--scratch (name text mode)
  (let ((buf (get-buffer-create name)))
    (with-current-buffer buf
      (let ((inhibit-read-only t))
        (erase-buffer)
        (insert text)
        (goto-char (point-min))
        (funcall mode)
        (setq buffer-read-only t)))
    (pop-to-buffer buf)
    buf))

;;;###autoload
(defun now-graph (kind &optional trial)
  "Show the `now/graph' of KIND for TRIAL (the last trial by default).
With Graphviz's dot, rendered to an SVG file that is opened; else the
dot text in a buffer.  Returns the SVG file name or the buffer."
  (interactive
   (list (completing-read "nowls graph: " '("activation" "dataflow" "history" "definitions")
                          nil t nil nil "activation")
         (let ((s (read-string "trial (empty: the last): ")))
           (unless (string-empty-p s) (now--trial-arg s)))))
  (let ((dot (now-graph-text kind trial)))
    (if (executable-find "dot")
        (let ((svg (make-temp-file (format "nowls-%s-" kind) nil ".svg")))
          (with-temp-buffer
            (insert dot)
            (unless (eq 0 (call-process-region (point-min) (point-max) "dot" nil nil nil "-Tsvg" "-o" svg))
              (error "nowls: dot failed")))
          (message "nowls: graph written to %s" svg)
          (unless noninteractive (find-file svg))
          svg)
      (now--scratch (format "*nowls graph %s*" kind) dot
                    (if (fboundp 'graphviz-dot-mode) 'graphviz-dot-mode 'fundamental-mode)))))

;;;###autoload
(defun now-diff (a &optional b)
  "Show `now/diff' of trial A against trial B (the buffer's trial when B is nil)."
  (interactive (list (read-string "nowls diff: trial ") nil))
  (let* ((a (now--trial-arg a))
         (res (if b
                  (now--request :now/diff (list :a a :b b))
                (now--request :workspace/executeCommand
                              (list :command "now.diffTrial" :arguments (vector (now--uri) a))))))
    (now--scratch "*nowls diff*" (plist-get res :text)
                  (if (fboundp 'diff-mode) 'special-mode 'fundamental-mode))))

(defun now--restore-actions ()
  "The code actions \"Restore this file from trial N\": a list of (N . action)."
  (let* ((params (list :textDocument (eglot--TextDocumentIdentifier)
                       :range (now--range (point-min) (point-max))
                       :context (list :diagnostics [])))
         (actions (append (now--request :textDocument/codeAction params) nil)))
    (cl-loop for a in actions
             for title = (plist-get a :title)
             when (and title (plist-get a :edit)
                       (string-match "\\`Restore this file from trial \\([0-9]+\\)" title))
             collect (cons (string-to-number (match-string 1 title)) a))))

;;;###autoload
(defun now-restore (n)
  "Apply the code action \"Restore this file from trial N\" (the file is not saved).
The server offers one restore per distinct text, for the newest trial having it;
when trial N's text is the same as a newer trial's, that action is used."
  (interactive (list (read-number "nowls restore from trial: ")))
  (let* ((actions (now--restore-actions))
         (chosen (cdr (assq n actions)))
         (title (and chosen (plist-get chosen :title))))
    (unless chosen
      (let ((rel (file-relative-name buffer-file-name (project-root (now--project)))))
        (cl-loop for (m . a) in actions
                 for d = (ignore-errors (now--request :now/diff (list :a n :b m)))
                 when (and d (cl-notany (lambda (ch) (equal (plist-get ch :path) rel))
                                        (plist-get (plist-get d :data) :code)))
                 return (setq chosen a
                              title (format "%s, the same text as trial %s" (plist-get a :title) n)))))
    (unless chosen
      (user-error "nowls: no code action restores trial %s (is the buffer already as it was?)" n))
    (now--apply-edit (now--server) (plist-get chosen :edit))
    (message "nowls: %s" title)
    title))

;;;; Code actions of nowls and of the buffer's Eglot server in one menu

(defun now--code-action-params (beg end backend)
  "CodeActionParams for BEG..END with the Flymake diagnostics of BACKEND there."
  (list :textDocument (eglot--TextDocumentIdentifier)
        :range (now--range beg end)
        :context (list :diagnostics
                       (vconcat (cl-loop for d in (flymake-diagnostics beg end)
                                         for data = (flymake-diagnostic-data d)
                                         when (and (eq (flymake-diagnostic-backend d) backend)
                                                   (cdr (assq 'now-lsp-diag data)))
                                         collect it)))))

(defun now-code-action-list (&optional beg end)
  "Code actions for BEG..END (default: the line at point), of nowls and of Eglot.
A list of (TITLE SERVER ACTION): nowls's titles start with \"nowls: \"; the
others come from the buffer's Eglot server when it is not nowls."
  (let* ((beg (or beg (line-beginning-position)))
         (end (or end (line-end-position)))
         (server (now--server))
         (eglot-server (and (bound-and-true-p eglot--managed-mode) (eglot-current-server)))
         (mine (now--request-to server :textDocument/codeAction
                                (now--code-action-params beg end 'now-flymake-backend)))
         (theirs (and eglot-server (not (eq eglot-server server))
                      (eglot--server-capable :codeActionProvider)
                      (ignore-errors (eglot-code-actions beg end)))))
    (append
     (cl-loop for a across (or mine []) collect (list (concat "nowls: " (plist-get a :title)) server a))
     (cl-loop for a in theirs collect (list (plist-get a :title) eglot-server a)))))

(defun now--execute-code-action (server action)
  "Carry out ACTION (a CodeAction or a Command) of SERVER."
  (let* ((edit (plist-get action :edit))
         (cmd (plist-get action :command))
         (cmd (if (stringp cmd) action cmd)))
    (when edit (now--apply-edit server edit))
    (when (and cmd (equal (plist-get cmd :command) "now.runTrial"))
      (now--run-trial-command server (vconcat (plist-get cmd :arguments)))
      (setq cmd nil))
    (when cmd
      (let ((res (now--request-to server :workspace/executeCommand
                                  (list :command (plist-get cmd :command)
                                        :arguments (or (plist-get cmd :arguments) []))
                                  now-run-timeout)))
        (cond ((and (listp res) (stringp (plist-get res :text)))
               (now--scratch "*nowls diff*" (plist-get res :text) 'special-mode))
              (res (message "nowls: %s" (plist-get action :title))))))))

;;;###autoload
(defun now-code-actions (&optional beg end title)
  "Pick and apply a code action of nowls or of the buffer's other Eglot server.
BEG..END is the region when active, else the current line.  TITLE (from Lisp)
picks the action with that title instead of asking."
  (interactive (if (use-region-p) (list (region-beginning) (region-end)) nil))
  (let* ((items (now-code-action-list beg end))
         (pick (or title
                   (if items
                       (completing-read "Code action: " (mapcar #'car items) nil t)
                     (user-error "nowls: no code actions here"))))
         (item (assoc pick items)))
    (unless item (user-error "nowls: no code action %S here" pick))
    (now--execute-code-action (nth 1 item) (nth 2 item))
    pick))

(provide 'now)
;;; now.el ends here
