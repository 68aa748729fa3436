;;; e2e.el --- End-to-end test of now.el in batch Emacs  -*- lexical-binding: t; -*-

;; Run by test/emacs-client.test.ts in the demo project (trials 1-3, trial 3 fine):
;;   emacs --batch -Q -l clients/emacs/now.el -l clients/emacs/test/e2e.el
;; now-mode starts nowls through Eglot, now-run 2013 2015 (fine) and
;; now/trialFinished, a hover of prec_a, now-trials, now-select-trial, now-diff,
;; now-graph, now-restore 1 after an edit, a failing trial's diagnostic, then the
;; "Run trial" code actions from Eglot's menu and M-x now-run, their prompts answered
;; here (left as offered, edited, cancelled).  Writes what it saw to $NOWLS_OUT and
;; the dot text to $NOWLS_OUT.dot.  Needs $NOWLS_BIN (bin/now.js).

(require 'cl-lib)
(require 'now)

(load (expand-file-name "common" (file-name-directory load-file-name)) nil t)

(defvar now-e2e--messages nil)
(advice-add 'message :around
            (lambda (orig fmt &rest args)
              (when fmt
                (let ((s (apply #'format fmt args)))
                  (when (string-prefix-p "nowls:" s) (push s now-e2e--messages))))
              (apply orig fmt args)))

(defun now-e2e--flush-messages ()
  (dolist (m (sort (delete-dups (copy-sequence now-e2e--messages)) #'string<))
    (now-test--say "message: %s" m))
  (setq now-e2e--messages nil))

(defun now-e2e--line-of (re)
  (save-excursion
    (goto-char (point-min))
    (and (re-search-forward re nil t) (line-number-at-pos))))

(defun now-e2e--hover-first-line ()
  (let* ((ln (now-e2e--line-of "^prec_a ="))
         (params (save-excursion
                   (goto-char (point-min)) (forward-line (1- ln))
                   (eglot--TextDocumentPositionParams)))
         (res (jsonrpc-request (now--server) :textDocument/hover params :timeout 20))
         (contents (plist-get res :contents))
         (text (if (stringp contents) contents (plist-get contents :value))))
    (or text "")))

(defun now-e2e--main ()
  ;; This script tests nowls as the buffer's Eglot server (emacs-coexist.el tests
  ;; the own connection beside another Eglot server).
  (setq now-connection 'eglot)
  (setq eglot-sync-connect 30 eglot-connect-timeout 60)
  (setq temporary-file-directory (file-name-as-directory (expand-file-name ".." default-directory)))
  (now-test--visit "experiment.py")
  (now-test--say "== now-mode")
  (now-mode 1)
  (now-test--wait (lambda () (and (eglot-current-server) (now--nowls-p (eglot-current-server)))) 30)
  (let ((server (eglot-current-server)))
    (now-test--say "eglot server is nowls: %s" (and server (now--nowls-p server) t))
    (now-test--say "managed: %s" (and (bound-and-true-p eglot--managed-mode) t))
    (now-test--say "root is the project: %s"
                   (and server (equal (file-name-as-directory (expand-file-name (project-root (eglot--project server))))
                                      (file-name-as-directory (expand-file-name default-directory))))))

  (now-test--say "== now-run 2013 2015, fine")
  (setq now-e2e--messages nil)
  (now-run "2013 2015" t)
  (now-test--say "trialFinished heard: %s"
                 (and (now-test--wait (lambda () (and now-last-finished
                                                      (equal (car (last (append (plist-get now-last-finished :argv) nil))) "2015")))
                                      90)
                      t))
  (now-test--wait (lambda () (cl-some (lambda (m) (string-match-p "exit code" m)) now-e2e--messages)) 20)
  (let ((t4 now-last-finished))
    (now-test--say "last finished: trial %s" (and t4 (now--describe t4)))
    (now-e2e--flush-messages)

    (now-test--say "== hover prec_a")
    (let ((hover (now-e2e--hover-first-line)))
      (now-test--say "%s" (now-test--first-line hover))
      (now-test--say "mentions the new trial: %s"
                     (and t4 (string-match-p (regexp-quote (format "trial %s" (plist-get t4 :id))) hover) t))))

  (now-test--say "== now-trials")
  (dolist (tr (now-trials)) (now-test--say "%s" (now--describe tr)))

  (now-test--say "== now-select-trial, picking trial 3")
  (let ((completing-read-function (lambda (&rest _) "3 experiment.py 2013 2014 finished")))
    (call-interactively #'now-select-trial))
  (now-e2e--flush-messages)
  (now-test--say "hover now: %s" (now-test--first-line (now-e2e--hover-first-line)))
  (now-select-trial nil)
  (setq now-e2e--messages nil)

  (now-test--say "== now-diff 1")
  (let ((src (current-buffer)))
    (with-current-buffer (now-diff 1)
      (now-test--say "buffer %s, first line: %s" (buffer-name)
                     (buffer-substring (point-min) (line-end-position))))
    (set-buffer src)
    (switch-to-buffer src))

  (now-test--say "== now-graph dataflow")
  ;; With Graphviz an SVG file, without it a buffer of dot text: both count as shown.
  (let* ((r (now-graph "dataflow"))
         (shown (if (stringp r)
                    (and (file-exists-p r)
                         (with-temp-buffer (insert-file-contents r) (and (search-forward "<svg" nil t) t)))
                  (with-current-buffer r (string-prefix-p "digraph" (buffer-string))))))
    (now-test--say "graph shown (an SVG with dot, else a buffer): %s" shown))
  (setq now-e2e--messages nil)
  (let ((dot (now-graph-text "dataflow")))
    (now-test--say "now-graph-text starts with digraph: %s" (and (stringp dot) (string-prefix-p "digraph" dot)))
    (with-temp-file (concat (getenv "NOWLS_OUT") ".dot") (insert (or dot ""))))

  (now-test--say "== now-restore 1")
  (let ((ln (now-e2e--line-of "^prec_a =")))
    (save-excursion
      (goto-char (point-min)) (forward-line (1- ln))
      (delete-region (line-beginning-position) (line-end-position))
      (insert "prec_a = []  # changed in the editor"))
    (now-test--say "changed line %s, modified: %s" ln (and (buffer-modified-p) t)))
  (let ((before (buffer-string))
        (want (now-test--trial1-text)))
    (now-restore 1)
    (now-e2e--flush-messages)
    (now-test--say "buffer changed by restore: %s" (not (equal before (buffer-string))))
    (now-test--say "buffer equals experiment.py of trial 1: %s" (equal (buffer-string) want)))

  (now-test--say "== a failing trial: now-run 2013 1999")
  (setq now-last-finished nil now-e2e--messages nil)
  (now-run "2013 1999")
  (let ((tr (now-test--wait (lambda () now-last-finished) 90)))
    (now-test--say "trialFinished heard: %s" (and tr (now--describe tr))))
  (now-test--wait (lambda () (cl-some (lambda (m) (string-match-p "exit code" m)) now-e2e--messages)) 20)
  (now-e2e--flush-messages)
  (let ((diags (now-test--wait (lambda () eglot--diagnostics) 30)))
    (now-test--say "diagnostics: %s" (length diags))
    (dolist (d diags)
      (now-test--say "line %s: %s" (line-number-at-pos (flymake-diagnostic-beg d))
                     (now-test--first-line (flymake-diagnostic-text d)))))

  ;; Eglot's own code-action menu, the action picked by title; its command goes
  ;; through `eglot-execute-command', which asks for the arguments first.
  (cl-flet ((menu (title)
              (lambda ()
                ;; A key, not a mouse click, chose the command: Eglot then asks with
                ;; `completing-read' rather than a popup menu.
                (let ((completing-read-function (lambda (&rest _) title))
                      (last-nonmenu-event ?\r))
                  (eglot-code-actions (point-min) (point-max) nil t))))
            (titles ()
              (dolist (a (append (jsonrpc-request
                                  (eglot-current-server) :textDocument/codeAction
                                  (list :textDocument (eglot--TextDocumentIdentifier)
                                        :range (now--range (point-min) (point-min))
                                        :context (list :diagnostics []))
                                  :timeout 20)
                                 nil))
                (when (string-prefix-p "Run trial" (plist-get a :title))
                  (now-test--say "action: %s" (plist-get a :title))))))
    (now-test--say "== the Run trial code actions offer the last trial's arguments")
    (titles)
    (now-test--say "== Eglot's menu: Run trial, the prompt left as offered")
    (setq now-test--answers (list #'identity))
    (now-test--ran (menu "Run trial of experiment.py 2013 1999"))
    (now-test--say "== the prompt edited: an argument with a space survives")
    (setq now-test--answers (list (lambda (_) "2013 \"not a year\"")))
    (now-test--ran (menu "Run trial of experiment.py 2013 1999"))
    (titles)
    (now-test--say "== with values, the prompt edited")
    (setq now-test--answers (list (lambda (_) "2013 2014")))
    (now-test--values-of (now-test--ran (menu "Run trial of experiment.py 2013 'not a year' with values")))
    (now-test--say "== the prompt cancelled")
    (setq now-test--answers (list :quit))
    (now-test--ran (menu "Run trial of experiment.py 2013 2014")))

  (now-test--say "== M-x now-run: the last trial's arguments as the default")
  (setq now-test--answers (list #'identity))
  (now-test--ran (lambda () (call-interactively #'now-run)))
  (now-test--say "== C-u M-x now-run, the prompt emptied: no arguments, with values")
  (setq now-test--answers (list (lambda (_) "")))
  (now-test--values-of
   (now-test--ran (lambda () (let ((current-prefix-arg '(4))) (call-interactively #'now-run))))))

(now-test--run #'now-e2e--main #'now-test--shutdown-eglot)

;;; e2e.el ends here
