;;; common.el --- What the batch-Emacs tests of now.el share  -*- lexical-binding: t; -*-

;; Loaded by e2e.el, coexist.el and lsp-mode.el: the report they write to $NOWLS_OUT,
;; waiting for the servers, moving point, visiting the demo's files, and the run that
;; writes the report whatever happens and exits 0 or 1.

(require 'cl-lib)
(require 'now)

(setq now-server-command (list "node" (getenv "NOWLS_BIN") "lsp" "--stdio"))

(defvar now-test--report nil "The lines of the report, newest first.")

(defun now-test--say (fmt &rest args)
  "Add a line (`format' of FMT and ARGS) to the report."
  (push (apply #'format fmt args) now-test--report))

(defun now-test--wait (pred secs)
  "Accept process output until PRED is true or SECS pass; PRED's value."
  (let ((end (+ (float-time) secs)) v)
    (while (and (not (setq v (funcall pred))) (< (float-time) end))
      (accept-process-output nil 0.05))
    v))

(defun now-test--goto (re)
  "Point at the start of the first match of RE."
  (goto-char (point-min))
  (re-search-forward re)
  (goto-char (match-beginning 0)))

(defun now-test--first-line (s) (car (split-string (or s "") "\n")))

(defun now-test--visit (file)
  "Visit FILE of the project in `python-mode'."
  (find-file (expand-file-name file default-directory))
  (unless (derived-mode-p 'python-mode) (python-mode)))

(defun now-test--trial1-text ()
  "The text of experiment.py as trial 1 ran it ($NOWLS_TRIAL1_TEXT)."
  (with-temp-buffer (insert-file-contents (getenv "NOWLS_TRIAL1_TEXT")) (buffer-string)))

(defun now-test--shutdown-eglot ()
  "Shut down every Eglot server."
  (dolist (s (hash-table-values eglot--servers-by-project))
    (dolist (srv s) (eglot-shutdown srv))))

(defvar now-test--answers nil
  "What the next `read-string' calls answer, in turn: a function of the text
offered giving the line the user leaves, or :quit (the user's \\[keyboard-quit]).")

(defun now-test--answering (thunk)
  "Call THUNK with `read-string' answered from `now-test--answers', each prompt reported.
Non-nil when the prompt was cancelled (the quit does not get past here)."
  (cl-letf (((symbol-function 'read-string)
             (lambda (prompt &optional initial &rest _)
               (now-test--say "prompt %S, default %S" prompt initial)
               (let ((a (pop now-test--answers)))
                 (if (eq a :quit) (signal 'quit nil) (funcall a initial))))))
    (condition-case nil (progn (funcall thunk) nil) (quit t))))

(defun now-test--ran (thunk)
  "Call THUNK, which starts a trial after a prompt; report the trial that ran, if any.
A cancelled prompt must run nothing: that is checked for 3 seconds."
  (setq now-last-finished nil)
  (let* ((cancelled (now-test--answering thunk))
         (tr (now-test--wait (lambda () now-last-finished) (if cancelled 3 90))))
    (cond (tr (now-test--say "trial %s ran with arguments [%s] %s" (plist-get tr :id)
                             (mapconcat #'identity (cdr (append (plist-get tr :argv) nil)) "|")
                             (plist-get tr :status)))
          (cancelled (now-test--say "cancelled: nothing ran"))
          (t (now-test--say "no trial ran")))
    tr))

(defun now-test--values-of (tr)
  "A report line: whether trial TR (a TrialSummary) recorded values."
  (let ((d (and tr (now--request :now/trial (list :trial (plist-get tr :id))))))
    (now-test--say "now/trial %s: granularity %s, values recorded: %s" (and tr (plist-get tr :id))
                   (plist-get (plist-get d :trial) :granularity)
                   (and d (> (plist-get (plist-get d :summary) :values) 0)))))

(defun now-test--run (main &rest cleanups)
  "Call MAIN, write the report to $NOWLS_OUT, call CLEANUPS, exit.
An error of MAIN ends the report and makes the exit status 1; errors of
CLEANUPS are ignored, each on its own."
  (let ((ok t))
    (condition-case err
        (funcall main)
      (error (setq ok nil) (now-test--say "error: %s" (error-message-string err))))
    (with-temp-file (getenv "NOWLS_OUT")
      (insert (mapconcat #'identity (reverse now-test--report) "\n") "\n"))
    (dolist (f cleanups) (ignore-errors (funcall f)))
    (kill-emacs (if ok 0 1))))

;;; common.el ends here
