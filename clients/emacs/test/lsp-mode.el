;;; lsp-mode.el --- nowls as lsp-mode's add-on server, in batch Emacs  -*- lexical-binding: t; -*-

;; Run by test/emacs-coexist.test.ts in the demo project (trials 1-3, trial 3 fine):
;;   emacs --batch -Q -l clients/emacs/now.el -l clients/emacs/test/lsp-mode.el
;; lsp-mode 8 with "the user's Python server" (test/fixtures/fake-python-lsp.py) as the
;; main client of python-mode and nowls as the add-on client that now.el registers
;; (`:add-on? t').  Checked: both servers start for the buffer, lsp-mode's merged
;; hover has nowls's text beside the fake one, now.el's commands reach nowls through
;; lsp-mode (now-trials, now-graph-text, now-run and now/trialFinished, now-restore 1).
;; Writes what it saw to $NOWLS_OUT.  Needs $NOWLS_BIN, $NOWLS_FAKE_LSP, $NOWLS_TRIAL1_TEXT.

(require 'cl-lib)
(require 'now)

(defvar now-lm--report nil)
(defun now-lm--say (fmt &rest args)
  (push (apply #'format fmt args) now-lm--report))

(defun now-lm--wait (pred secs)
  (let ((end (+ (float-time) secs)) v)
    (while (and (not (setq v (funcall pred))) (< (float-time) end))
      (accept-process-output nil 0.05))
    v))

(defun now-lm--goto (re)
  (goto-char (point-min))
  (re-search-forward re)
  (goto-char (match-beginning 0)))

(defun now-lm--first-line (s) (car (split-string (or s "") "\n")))

(defvar now-lm--tmp (file-name-as-directory (expand-file-name ".." default-directory)))

;; lsp-mode in batch: no session file in ~/.emacs.d, no prompts, no extra clients.
(setq lsp-session-file (expand-file-name "lsp-session-v1" now-lm--tmp)
      lsp-server-install-dir (expand-file-name "lsp-servers" now-lm--tmp)
      lsp-client-packages nil
      lsp-auto-guess-root nil
      lsp-enable-file-watchers nil
      lsp-keep-workspace-alive nil
      lsp-restart 'ignore
      lsp-headerline-breadcrumb-enable nil
      lsp-modeline-code-actions-enable nil
      lsp-modeline-diagnostics-enable nil
      lsp-modeline-workspace-status-enable nil
      lsp-lens-enable nil
      lsp-semantic-tokens-enable nil
      lsp-completion-enable nil
      lsp-enable-snippet nil
      lsp-signature-auto-activate nil
      lsp-eldoc-enable-hover nil
      lsp-diagnostics-provider :flymake
      lsp-response-timeout 20)

(require 'lsp-mode)

(defun now-lm--workspaces ()
  (sort (mapcar (lambda (w) (format "%s %s" (lsp--client-server-id (lsp--workspace-client w))
                                    (lsp--workspace-status w)))
                (lsp-workspaces))
        #'string<))

(defun now-lm--main ()
  (setq now-server-command (list "node" (getenv "NOWLS_BIN") "lsp" "--stdio"))
  (lsp-register-client
   (make-lsp-client :new-connection (lsp-stdio-connection (list "python3" (getenv "NOWLS_FAKE_LSP")))
                    :major-modes '(python-mode)
                    :priority 1
                    :server-id 'fakepy))
  (let ((want1 (with-temp-buffer (insert-file-contents (getenv "NOWLS_TRIAL1_TEXT")) (buffer-string))))
    (find-file (expand-file-name "experiment.py" default-directory))
    (unless (derived-mode-p 'python-mode) (python-mode))
    (lsp-workspace-folders-add (expand-file-name default-directory))

    (now-lm--say "== M-x lsp")
    (lsp)
    (now-lm--wait (lambda () (and (= (length (lsp-workspaces)) 2)
                                  (cl-every (lambda (w) (eq (lsp--workspace-status w) 'initialized))
                                            (lsp-workspaces))))
                  30)
    (dolist (w (now-lm--workspaces)) (now-lm--say "workspace: %s" w))
    (now-lm--say "nowls is an add-on: %s"
                 (and (lsp--client-add-on? (gethash 'nowls lsp-clients)) t))

    (now-lm--say "== lsp-mode's hover at prec_a (merged from both servers)")
    (now-lm--goto "^prec_a =")
    (let* ((hover (lsp-request "textDocument/hover" (lsp--text-document-position-params)))
           (contents (lsp:hover-contents hover)))
      ;; Sorted: the order of the servers' answers is not fixed.
      (dolist (line (sort (mapcar (lambda (c) (now-lm--first-line (if (stringp c) c (lsp:markup-content-value c))))
                                  (if (and (sequencep contents) (not (stringp contents)))
                                      (append contents nil)
                                    (list contents)))
                          #'string<))
        (now-lm--say "%s" line)))

    (now-lm--say "== lsp-describe-thing-at-point (lsp-mode's UI for hovers)")
    (lsp-describe-thing-at-point)
    (let ((help (now-lm--wait (lambda () (get-buffer "*lsp-help*")) 10)))
      (with-current-buffer help
        (now-lm--say "*lsp-help* has nowls's hover: %s"
                     (and (string-match-p "prec.a — assigned once in trial 3" (buffer-string)) t))
        (now-lm--say "*lsp-help* has the fake server's hover: %s"
                     (and (string-match-p "fake-python-lsp hover" (buffer-string)) t))))

    (now-lm--say "== now.el's commands through lsp-mode")
    (now-lm--say "now-trials: %s" (mapconcat (lambda (tr) (format "%s" (plist-get tr :id))) (now-trials) " "))
    (let ((dot (now-graph-text "activation")))
      (now-lm--say "now-graph-text starts with digraph: %s" (and (stringp dot) (string-prefix-p "digraph" dot))))
    (setq now-last-finished nil)
    (now-run "2013 2015")
    (let ((tr (now-lm--wait (lambda () now-last-finished) 60)))
      (now-lm--say "trialFinished heard: %s" (and tr (now--describe tr))))
    (now-lm--goto "^prec_a =")
    (delete-region (line-beginning-position) (line-end-position))
    (insert "prec_a = []  # changed in the editor")
    (now-lm--say "restore: %s" (now-restore 1))
    (now-lm--say "buffer equals experiment.py of trial 1: %s" (equal (buffer-string) want1))

    (now-lm--say "== afterwards")
    (dolist (w (now-lm--workspaces)) (now-lm--say "workspace: %s" w))))

(let ((ok t))
  (condition-case err
      (now-lm--main)
    (error (setq ok nil) (now-lm--say "error: %s" (error-message-string err))))
  (with-temp-file (getenv "NOWLS_OUT")
    (insert (mapconcat #'identity (reverse now-lm--report) "\n") "\n"))
  (ignore-errors (dolist (w (lsp-workspaces)) (lsp-workspace-shutdown w)))
  (kill-emacs (if ok 0 1)))

;;; lsp-mode.el ends here
