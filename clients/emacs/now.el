;;; now.el --- nowls client: provenance of Python scripts in Emacs  -*- lexical-binding: t; -*-

;; Version: 0.1.0
;; Package-Requires: ((emacs "28.1") (eglot "1.9"))
;; Keywords: languages, tools

;;; Commentary:

;; A client for nowls's language server (`now lsp --stdio'): hovers show the
;; provenance of Python variables and functions, diagnostics show a trial's
;; exception, and commands run trials (`now-run'), pick the trial hovers use
;; (`now-select-trial'), show graphs (`now-graph') and diffs (`now-diff'), and
;; restore a file as a trial had it (`now-restore').
;;
;; With Eglot: `now-mode' starts nowls in the current buffer; or put nowls in
;; `eglot-server-programs' yourself (`now-eglot-register' does it for
;; python-mode).  Eglot keeps one server per major mode: to have pyright too,
;; use a multiplexer (see README.md).  With lsp-mode, nowls is registered as an
;; add-on server that runs beside the Python one.

;;; Code:

(require 'cl-lib)
(require 'subr-x)
(require 'jsonrpc)
(require 'eglot)

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
              :notification-handlers
              (let ((h (make-hash-table :test 'equal)))
                (puthash "now/trialFinished"
                         (lambda (_workspace params)
                           (now--trial-finished (now--get params :trial)))
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

;;;###autoload
(define-minor-mode now-mode
  "Start nowls through Eglot for the current buffer's major mode and project.
Eglot allows one server per major mode and project: use this where nowls is the
only server wanted (for pyright too, see the multiplexer setup in README.md)."
  :lighter " now"
  (if now-mode
      (let ((server (eglot-current-server)))
        (unless (and server (jsonrpc-running-p server) (now--nowls-p server))
          (eglot (list major-mode) (now--project) 'eglot-lsp-server now-server-command "python")))
    (let ((server (eglot-current-server)))
      (when (and server (now--nowls-p server))
        (eglot-shutdown server)))))

(defun now--nowls-p (server)
  "Non-nil if SERVER announces nowls's custom methods."
  (let ((exp (plist-get (eglot--capabilities server) :experimental)))
    (and exp (plist-get exp :now) t)))

(defun now--server ()
  "The nowls server of the current buffer, or an error."
  (let ((server (eglot-current-server)))
    (unless server (user-error "nowls: no Eglot server here (M-x now-mode)"))
    (unless (now--nowls-p server)
      (user-error "nowls: this buffer's Eglot server is not nowls"))
    server))

(defun now--request (method params &optional timeout)
  "Send METHOD with PARAMS to nowls and wait for the answer."
  (let ((server (now--server)))
    (when (bound-and-true-p eglot--managed-mode)
      (eglot--signal-textDocument/didChange))
    (jsonrpc-request server method params :timeout (or timeout now-request-timeout))))

(defun now--uri ()
  (plist-get (eglot--TextDocumentIdentifier) :uri))

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

;;;###autoload
(defun now-run (args &optional fine)
  "Run the current buffer's script as a new trial with ARGS (`now/run').
With a prefix argument, FINE: record variable values too.  Returns at once;
the answer and `now/trialFinished' are shown as messages."
  (interactive (list (read-string "nowls run with args: ") current-prefix-arg))
  (let ((server (now--server))
        (argv (vconcat (split-string-and-unquote (or args "")))))
    (when (bound-and-true-p eglot--managed-mode)
      (eglot--signal-textDocument/didChange))
    (message "nowls: running%s %s %s" (if fine " (fine)" "")
             (file-name-nondirectory (or buffer-file-name "")) (or args ""))
    (jsonrpc-async-request
     server :now/run
     (list :uri (now--uri) :args argv :fine (if fine t :json-false))
     :timeout now-run-timeout
     :success-fn (lambda (res)
                   (message "nowls: trial %s finished, exit code %s"
                            (plist-get (plist-get res :trial) :id)
                            (plist-get res :exitCode)))
     :error-fn (lambda (err)
                 (message "nowls: run failed: %s" (plist-get err :message))))))

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
           (unless (string-empty-p s) (if (string-match-p "\\`[0-9]+\\'" s) (string-to-number s) s)))))
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
  (let* ((a (if (and (stringp a) (string-match-p "\\`[0-9]+\\'" a)) (string-to-number a) a))
         (res (if b
                  (now--request :now/diff (list :a a :b b))
                (now--request :workspace/executeCommand
                              (list :command "now.diffTrial" :arguments (vector (now--uri) a))))))
    (now--scratch "*nowls diff*" (plist-get res :text)
                  (if (fboundp 'diff-mode) 'special-mode 'fundamental-mode))))

(defun now--restore-actions ()
  "The code actions \"Restore this file from trial N\": a list of (N . action)."
  (let* ((params (list :textDocument (eglot--TextDocumentIdentifier)
                       :range (list :start (eglot--pos-to-lsp-position (point-min))
                                    :end (eglot--pos-to-lsp-position (point-max)))
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
    (eglot--apply-workspace-edit (plist-get chosen :edit))
    (message "nowls: %s" title)
    title))

(provide 'now)
;;; now.el ends here
