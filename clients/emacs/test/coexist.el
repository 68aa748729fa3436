;;; coexist.el --- nowls beside another Eglot server, in batch Emacs  -*- lexical-binding: t; -*-

;; Run by test/emacs-coexist.test.ts in the demo project (trials 1-3, trial 3 fine):
;;   emacs --batch -Q -l clients/emacs/now.el -l clients/emacs/test/coexist.el
;; Eglot manages "the user's Python server" (test/fixtures/fake-python-lsp.py, through
;; `eglot-ensure' as a user's hook would) and `now-mode' adds nowls on its own
;; connection.  Checked: both hovers reach Eldoc, both servers' diagnostics reach
;; Flymake, the merged code-action menu applies an action of each server, now-restore 1,
;; custom requests, now-run and now/trialFinished, and Eglot's server still runs and
;; answers afterwards; nowls's "Run trial" actions from the merged menu ask for the
;; arguments (prompts answered here: left as offered, edited, cancelled).  A second buffer turns now-mode on *before* Eglot manages it.
;; Writes what it saw to $NOWLS_OUT and the dot text to $NOWLS_OUT.dot.
;; Needs $NOWLS_BIN (bin/now.js), $NOWLS_FAKE_LSP (the fake server), $NOWLS_TRIAL1_TEXT.

(require 'cl-lib)
(require 'now)
(load (expand-file-name "common" (file-name-directory load-file-name)) nil t)

(defun now-co--eglot-ensure ()
  "What a user's (add-hook \\='python-mode-hook #\\='eglot-ensure) does."
  (eglot-ensure)
  (run-hooks 'post-command-hook)
  (now-test--wait (lambda () (and (eglot-current-server) (bound-and-true-p eglot--managed-mode))) 30))

(defun now-co--eldoc ()
  "The documentation strings Eldoc displays at point (first lines, in order)."
  (let* ((shown nil)
         (eldoc-display-functions (list (lambda (docs _interactive) (setq shown docs)))))
    (eldoc-print-current-symbol-info t)
    (now-test--wait (lambda () (>= (length shown) 2)) 20)
    (mapcar (lambda (d) (now-test--first-line (car d))) shown)))

(defun now-co--flymake ()
  "Flymake's diagnostics in the buffer, as sorted lines: backend, line, text."
  (sort (mapcar (lambda (d)
                  (format "%s line %s: %s" (flymake-diagnostic-backend d)
                          (line-number-at-pos (flymake-diagnostic-beg d))
                          (now-test--first-line (flymake-diagnostic-text d))))
                (flymake-diagnostics))
        #'string<))

(defun now-co--eglot-state ()
  (let ((s (eglot-current-server)))
    (format "eglot server %s, running %s, managed %s"
            (and s (plist-get (eglot--server-info s) :name))
            (and s (jsonrpc-running-p s) t)
            (and (bound-and-true-p eglot--managed-mode) t))))

(defun now-co--main ()
  (setq eglot-server-programs
        `((python-mode . ("python3" ,(getenv "NOWLS_FAKE_LSP")))))
  (setq eglot-sync-connect 30 eglot-connect-timeout 60)
  (let ((want1 (now-test--trial1-text)))
    (now-test--visit "experiment.py")

    (now-test--say "== eglot-ensure (the user's Python server), then now-mode")
    (now-co--eglot-ensure)
    (now-test--say "%s" (now-co--eglot-state))
    (now-mode 1)
    (now-test--say "now-mode: %s, own connection: %s, nowls: %s"
                   now-mode (and now--conn (jsonrpc-running-p now--conn) t)
                   (and now--conn (now--nowls-p now--conn)))
    (now-test--say "%s" (now-co--eglot-state))
    (now-test--say "eldoc functions: %s" eldoc-documentation-functions)
    (now-test--say "flymake backends: %s" flymake-diagnostic-functions)

    (now-test--say "== eldoc at prec_a")
    (now-test--goto "^prec_a =")
    (dolist (d (now-co--eldoc)) (now-test--say "%s" d))

    (now-test--say "== custom requests on the own connection")
    (now-test--say "now-trials: %s" (mapconcat (lambda (tr) (format "%s" (plist-get tr :id))) (now-trials) " "))
    (let ((dot (now-graph-text "dataflow")))
      (now-test--say "now-graph-text starts with digraph: %s" (and (stringp dot) (string-prefix-p "digraph" dot)))
      (with-temp-file (concat (getenv "NOWLS_OUT") ".dot") (insert (or dot ""))))

    (now-test--say "== an edit, then code actions of both servers in one menu")
    (now-test--goto "^prec_a =")
    (delete-region (line-beginning-position) (line-end-position))
    (insert "prec_a = []  # changed in the editor")
    (let ((titles (mapcar #'car (now-code-action-list))))
      (dolist (ti (sort (copy-sequence titles) #'string<)) (now-test--say "action: %s" ti))
      (now-code-actions nil nil "fake-python-lsp: add a comment")
      (now-test--say "eglot's action applied (first line): %s"
                     (save-excursion (goto-char (point-min)) (buffer-substring (point) (line-end-position))))
      (now-test--goto "^prec_a =")
      (let ((restore (cl-find-if (lambda (ti) (string-prefix-p "nowls: Restore this file from trial" ti))
                                 (mapcar #'car (now-code-action-list)))))
        (now-test--say "picked: %s" restore)
        (now-code-actions nil nil restore))
      (now-test--say "buffer equals experiment.py of trial 1: %s" (equal (buffer-string) want1)))

    (now-test--say "== now-restore 1 after another edit")
    (now-test--goto "^prec_a =")
    (insert "# another edit\n")
    (now-test--say "restore: %s" (now-restore 1))
    (now-test--say "buffer equals experiment.py of trial 1: %s" (equal (buffer-string) want1))

    (now-test--say "== now-run 2013 1999 (fails): trialFinished, then both servers' diagnostics")
    (setq now-last-finished nil)
    (now-run "2013 1999")
    (let ((tr (now-test--wait (lambda () now-last-finished) 60)))
      (now-test--say "trialFinished heard: %s" (and tr (now--describe tr))))
    (now-test--wait (lambda () now--diagnostics) 20)
    (flymake-start)
    (now-test--wait (lambda () (>= (length (flymake-diagnostics)) 2)) 20)
    (dolist (d (now-co--flymake)) (now-test--say "%s" d))

    (now-test--say "== afterwards")
    (now-test--say "%s" (now-co--eglot-state))
    (now-test--goto "^prec_a =")
    (let ((h (jsonrpc-request (eglot-current-server) :textDocument/hover
                              (eglot--TextDocumentPositionParams) :timeout 10)))
      (now-test--say "eglot hover: %s" (plist-get (plist-get h :contents) :value)))

    (now-test--say "== nowls's Run trial in the merged menu, the prompt left as offered")
    (setq now-test--answers (list #'identity))
    (now-test--ran (lambda () (now-code-actions nil nil "nowls: Run trial of experiment.py 2013 1999")))
    (now-test--say "== with values, the prompt edited")
    (setq now-test--answers (list (lambda (_) "2013 2014")))
    (now-test--values-of
     (now-test--ran (lambda () (now-code-actions nil nil "nowls: Run trial of experiment.py 2013 1999 with values"))))
    (now-test--say "== the prompt cancelled")
    (setq now-test--answers (list :quit))
    (now-test--ran (lambda () (now-code-actions nil nil "nowls: Run trial of experiment.py 2013 2014"))))

  (now-test--say "== second buffer: now-mode first, then eglot-ensure")
  (now-test--visit "precipitation.py")
  (now-mode 1)
  (now-co--eglot-ensure)
  (now-test--say "%s; own connection shared: %s" (now-co--eglot-state)
                 (eq now--conn (with-current-buffer "experiment.py" now--conn)))
  (now-test--say "eldoc functions: %s" eldoc-documentation-functions)
  (now-test--say "flymake backends: %s" flymake-diagnostic-functions)
  (now-test--goto "^def ")
  (forward-word 1) (forward-char 1)
  (dolist (d (now-co--eldoc)) (now-test--say "%s" d))

  (now-test--say "== now-mode on again, then a new major mode")
  (now-mode 1)
  (now-test--say "buffers on the connection: %s" (length (now--server-buffers now--conn)))
  (let ((server now--conn))
    (python-mode)                       ; kills buffer-local state: the document is closed first
    (now-test--say "after python-mode: now-mode %s, buffers on the connection: %s, nowls running: %s"
                   now-mode (length (now--server-buffers server)) (and (jsonrpc-running-p server) t)))
  (now-mode 1)
  (now-co--eglot-ensure)
  (now-test--say "now-mode again: buffers on the connection: %s" (length (now--server-buffers now--conn)))

  (now-test--say "== now-mode off in both buffers")
  (let ((server now--conn))
    (now-mode -1)
    (with-current-buffer "experiment.py" (now-mode -1))
    (now-test--wait (lambda () (not (jsonrpc-running-p server))) 10)
    (now-test--say "nowls stopped: %s; %s" (not (jsonrpc-running-p server)) (now-co--eglot-state))
    (now-test--say "eldoc functions: %s" eldoc-documentation-functions)))

(now-test--run #'now-co--main #'now-shutdown-all #'now-test--shutdown-eglot)

;;; coexist.el ends here
