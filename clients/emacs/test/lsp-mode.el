;;; lsp-mode.el --- nowls as lsp-mode's add-on server, in batch Emacs  -*- lexical-binding: t; -*-

;; Run by test/emacs-coexist.test.ts in the demo project (trials 1-3, trial 3 fine):
;;   emacs --batch -Q -l clients/emacs/now.el -l clients/emacs/test/lsp-mode.el
;; lsp-mode 8 with "the user's Python server" (test/fixtures/fake-python-lsp.py) as the
;; main client of python-mode and nowls as the add-on client that now.el registers
;; (`:add-on? t').  Checked: both servers start for the buffer, lsp-mode's merged
;; hover has nowls's text beside the fake one, now.el's commands reach nowls through
;; lsp-mode (now-trials, now-graph-text, now-run and now/trialFinished, now-restore 1, the
;; "Run trial" code action from lsp-mode's menu asking for the arguments).
;; Writes what it saw to $NOWLS_OUT.  Needs $NOWLS_BIN, $NOWLS_FAKE_LSP, $NOWLS_TRIAL1_TEXT.

(require 'cl-lib)
(require 'now)

(load (expand-file-name "common" (file-name-directory load-file-name)) nil t)

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
  (lsp-register-client
   (make-lsp-client :new-connection (lsp-stdio-connection (list "python3" (getenv "NOWLS_FAKE_LSP")))
                    :major-modes '(python-mode)
                    :priority 1
                    :server-id 'fakepy))
  (let ((want1 (now-test--trial1-text)))
    (now-test--visit "experiment.py")
    (lsp-workspace-folders-add (expand-file-name default-directory))

    (now-test--say "== M-x lsp")
    (lsp)
    (now-test--wait (lambda () (and (= (length (lsp-workspaces)) 2)
                                    (cl-every (lambda (w) (eq (lsp--workspace-status w) 'initialized))
                                              (lsp-workspaces))))
                    30)
    (dolist (w (now-lm--workspaces)) (now-test--say "workspace: %s" w))
    (now-test--say "nowls is an add-on: %s"
                   (and (lsp--client-add-on? (gethash 'nowls lsp-clients)) t))

    (now-test--say "== lsp-mode's hover at prec_a (merged from both servers)")
    (now-test--goto "^prec_a =")
    (let* ((hover (lsp-request "textDocument/hover" (lsp--text-document-position-params)))
           (contents (lsp:hover-contents hover)))
      ;; Sorted: the order of the servers' answers is not fixed.
      (dolist (line (sort (mapcar (lambda (c) (now-test--first-line (if (stringp c) c (lsp:markup-content-value c))))
                                  (if (and (sequencep contents) (not (stringp contents)))
                                      (append contents nil)
                                    (list contents)))
                          #'string<))
        (now-test--say "%s" line)))

    (now-test--say "== lsp-describe-thing-at-point (lsp-mode's UI for hovers)")
    (lsp-describe-thing-at-point)
    (let ((help (now-test--wait (lambda () (get-buffer "*lsp-help*")) 10)))
      (with-current-buffer help
        (now-test--say "*lsp-help* has nowls's hover: %s"
                       (and (string-match-p "prec.a — assigned once in trial 3" (buffer-string)) t))
        (now-test--say "*lsp-help* has the fake server's hover: %s"
                       (and (string-match-p "fake-python-lsp hover" (buffer-string)) t))))

    (now-test--say "== now.el's commands through lsp-mode")
    (now-test--say "now-trials: %s" (mapconcat (lambda (tr) (format "%s" (plist-get tr :id))) (now-trials) " "))
    (let ((dot (now-graph-text "activation")))
      (now-test--say "now-graph-text starts with digraph: %s" (and (stringp dot) (string-prefix-p "digraph" dot))))
    (setq now-last-finished nil)
    (now-run "2013 2015")
    (let ((tr (now-test--wait (lambda () now-last-finished) 60)))
      (now-test--say "trialFinished heard: %s" (and tr (now--describe tr))))
    (now-test--goto "^prec_a =")
    (delete-region (line-beginning-position) (line-end-position))
    (insert "prec_a = []  # changed in the editor")
    (now-test--say "restore: %s" (now-restore 1))
    (now-test--say "buffer equals experiment.py of trial 1: %s" (equal (buffer-string) want1))

    (now-test--say "== lsp-mode's code action Run trial (the last trial's arguments), the prompt edited")
    (let ((action (seq-find (lambda (a) (equal (now--get a :title) "Run trial of experiment.py 2013 2015 with values"))
                            (lsp-code-actions-at-point))))
      (now-test--say "offered: %s" (and action t))
      (setq now-test--answers (list (lambda (_) "2013 2014")))
      (now-test--values-of (now-test--ran (lambda () (lsp-execute-code-action action)))))

    (now-test--say "== afterwards")
    (dolist (w (now-lm--workspaces)) (now-test--say "workspace: %s" w))))

(now-test--run #'now-lm--main
               (lambda () (dolist (w (lsp-workspaces)) (lsp-workspace-shutdown w))))

;;; lsp-mode.el ends here
