;;; coexist.el --- nowls beside another Eglot server, in batch Emacs  -*- lexical-binding: t; -*-

;; Run by test/emacs-coexist.test.ts in the demo project (trials 1-3, trial 3 fine):
;;   emacs --batch -Q -l clients/emacs/now.el -l clients/emacs/test/coexist.el
;; Eglot manages "the user's Python server" (test/fixtures/fake-python-lsp.py, through
;; `eglot-ensure' as a user's hook would) and `now-mode' adds nowls on its own
;; connection.  Checked: both hovers reach Eldoc, both servers' diagnostics reach
;; Flymake, the merged code-action menu applies an action of each server, now-restore 1,
;; custom requests, now-run and now/trialFinished, and Eglot's server still runs and
;; answers afterwards.  A second buffer turns now-mode on *before* Eglot manages it.
;; Writes what it saw to $NOWLS_OUT and the dot text to $NOWLS_OUT.dot.
;; Needs $NOWLS_BIN (bin/now.js), $NOWLS_FAKE_LSP (the fake server), $NOWLS_TRIAL1_TEXT.

(require 'cl-lib)
(require 'now)

(defvar now-co--report nil)
(defun now-co--say (fmt &rest args)
  (push (apply #'format fmt args) now-co--report))

(defun now-co--wait (pred secs)
  "Accept process output until PRED is true or SECS pass; PRED's value."
  (let ((end (+ (float-time) secs)) v)
    (while (and (not (setq v (funcall pred))) (< (float-time) end))
      (accept-process-output nil 0.05))
    v))

(defun now-co--goto (re)
  (goto-char (point-min))
  (re-search-forward re)
  (goto-char (match-beginning 0)))

(defun now-co--first-line (s) (car (split-string (or s "") "\n")))

(defun now-co--eglot-ensure ()
  "What a user's (add-hook \\='python-mode-hook #\\='eglot-ensure) does."
  (eglot-ensure)
  (run-hooks 'post-command-hook)
  (now-co--wait (lambda () (and (eglot-current-server) (bound-and-true-p eglot--managed-mode))) 30))

(defun now-co--eldoc ()
  "The documentation strings Eldoc displays at point (first lines, in order)."
  (let* ((shown nil)
         (eldoc-display-functions (list (lambda (docs _interactive) (setq shown docs)))))
    (eldoc-print-current-symbol-info t)
    (now-co--wait (lambda () (>= (length shown) 2)) 20)
    (mapcar (lambda (d) (now-co--first-line (car d))) shown)))

(defun now-co--flymake ()
  "Flymake's diagnostics in the buffer, as sorted lines: backend, line, text."
  (sort (mapcar (lambda (d)
                  (format "%s line %s: %s" (flymake-diagnostic-backend d)
                          (line-number-at-pos (flymake-diagnostic-beg d))
                          (now-co--first-line (flymake-diagnostic-text d))))
                (flymake-diagnostics))
        #'string<))

(defun now-co--eglot-state ()
  (let ((s (eglot-current-server)))
    (format "eglot server %s, running %s, managed %s"
            (and s (plist-get (eglot--server-info s) :name))
            (and s (jsonrpc-running-p s) t)
            (and (bound-and-true-p eglot--managed-mode) t))))

(defun now-co--main ()
  (setq now-server-command (list "node" (getenv "NOWLS_BIN") "lsp" "--stdio"))
  (setq eglot-server-programs
        `((python-mode . ("python3" ,(getenv "NOWLS_FAKE_LSP")))))
  (setq eglot-sync-connect 30 eglot-connect-timeout 60)
  (let ((want1 (with-temp-buffer (insert-file-contents (getenv "NOWLS_TRIAL1_TEXT")) (buffer-string))))
    (find-file (expand-file-name "experiment.py" default-directory))
    (unless (derived-mode-p 'python-mode) (python-mode))

    (now-co--say "== eglot-ensure (the user's Python server), then now-mode")
    (now-co--eglot-ensure)
    (now-co--say "%s" (now-co--eglot-state))
    (now-mode 1)
    (now-co--say "now-mode: %s, own connection: %s, nowls: %s"
                 now-mode (and now--conn (jsonrpc-running-p now--conn) t)
                 (and now--conn (now--nowls-p now--conn)))
    (now-co--say "%s" (now-co--eglot-state))
    (now-co--say "eldoc functions: %s" eldoc-documentation-functions)
    (now-co--say "flymake backends: %s" flymake-diagnostic-functions)

    (now-co--say "== eldoc at prec_a")
    (now-co--goto "^prec_a =")
    (dolist (d (now-co--eldoc)) (now-co--say "%s" d))

    (now-co--say "== custom requests on the own connection")
    (now-co--say "now-trials: %s" (mapconcat (lambda (tr) (format "%s" (plist-get tr :id))) (now-trials) " "))
    (let ((dot (now-graph-text "dataflow")))
      (now-co--say "now-graph-text starts with digraph: %s" (and (stringp dot) (string-prefix-p "digraph" dot)))
      (with-temp-file (concat (getenv "NOWLS_OUT") ".dot") (insert (or dot ""))))

    (now-co--say "== an edit, then code actions of both servers in one menu")
    (now-co--goto "^prec_a =")
    (delete-region (line-beginning-position) (line-end-position))
    (insert "prec_a = []  # changed in the editor")
    (let ((titles (mapcar #'car (now-code-action-list))))
      (dolist (ti (sort (copy-sequence titles) #'string<)) (now-co--say "action: %s" ti))
      (now-code-actions nil nil "fake-python-lsp: add a comment")
      (now-co--say "eglot's action applied (first line): %s"
                   (save-excursion (goto-char (point-min)) (buffer-substring (point) (line-end-position))))
      (now-co--goto "^prec_a =")
      (let ((restore (cl-find-if (lambda (ti) (string-prefix-p "nowls: Restore this file from trial" ti))
                                 (mapcar #'car (now-code-action-list)))))
        (now-co--say "picked: %s" restore)
        (now-code-actions nil nil restore))
      (now-co--say "buffer equals experiment.py of trial 1: %s" (equal (buffer-string) want1)))

    (now-co--say "== now-restore 1 after another edit")
    (now-co--goto "^prec_a =")
    (insert "# another edit\n")
    (now-co--say "restore: %s" (now-restore 1))
    (now-co--say "buffer equals experiment.py of trial 1: %s" (equal (buffer-string) want1))

    (now-co--say "== now-run 2013 1999 (fails): trialFinished, then both servers' diagnostics")
    (setq now-last-finished nil)
    (now-run "2013 1999")
    (let ((tr (now-co--wait (lambda () now-last-finished) 60)))
      (now-co--say "trialFinished heard: %s" (and tr (now--describe tr))))
    (now-co--wait (lambda () now--diagnostics) 20)
    (flymake-start)
    (now-co--wait (lambda () (>= (length (flymake-diagnostics)) 2)) 20)
    (dolist (d (now-co--flymake)) (now-co--say "%s" d))

    (now-co--say "== afterwards")
    (now-co--say "%s" (now-co--eglot-state))
    (now-co--goto "^prec_a =")
    (let ((h (jsonrpc-request (eglot-current-server) :textDocument/hover
                              (eglot--TextDocumentPositionParams) :timeout 10)))
      (now-co--say "eglot hover: %s" (plist-get (plist-get h :contents) :value))))

  (now-co--say "== second buffer: now-mode first, then eglot-ensure")
  (find-file (expand-file-name "precipitation.py" default-directory))
  (unless (derived-mode-p 'python-mode) (python-mode))
  (now-mode 1)
  (now-co--eglot-ensure)
  (now-co--say "%s; own connection shared: %s" (now-co--eglot-state)
               (eq now--conn (with-current-buffer "experiment.py" now--conn)))
  (now-co--say "eldoc functions: %s" eldoc-documentation-functions)
  (now-co--say "flymake backends: %s" flymake-diagnostic-functions)
  (now-co--goto "^def ")
  (forward-word 1) (forward-char 1)
  (dolist (d (now-co--eldoc)) (now-co--say "%s" d))

  (now-co--say "== now-mode on again, then a new major mode")
  (now-mode 1)
  (now-co--say "buffers on the connection: %s" (length (now--server-buffers now--conn)))
  (let ((server now--conn))
    (python-mode)                       ; kills buffer-local state: the document is closed first
    (now-co--say "after python-mode: now-mode %s, buffers on the connection: %s, nowls running: %s"
                 now-mode (length (now--server-buffers server)) (and (jsonrpc-running-p server) t)))
  (now-mode 1)
  (now-co--eglot-ensure)
  (now-co--say "now-mode again: buffers on the connection: %s" (length (now--server-buffers now--conn)))

  (now-co--say "== now-mode off in both buffers")
  (let ((server now--conn))
    (now-mode -1)
    (with-current-buffer "experiment.py" (now-mode -1))
    (now-co--wait (lambda () (not (jsonrpc-running-p server))) 10)
    (now-co--say "nowls stopped: %s; %s" (not (jsonrpc-running-p server)) (now-co--eglot-state))
    (now-co--say "eldoc functions: %s" eldoc-documentation-functions)))

(let ((ok t))
  (condition-case err
      (now-co--main)
    (error (setq ok nil) (now-co--say "error: %s" (error-message-string err))))
  (with-temp-file (getenv "NOWLS_OUT")
    (insert (mapconcat #'identity (reverse now-co--report) "\n") "\n"))
  (ignore-errors (now-shutdown-all))
  (ignore-errors
    (dolist (s (hash-table-values eglot--servers-by-project))
      (dolist (srv s) (eglot-shutdown srv))))
  (kill-emacs (if ok 0 1)))

;;; coexist.el ends here
