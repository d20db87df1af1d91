/*
 * deliver_exec.c: exec delivery.  Runs in the worker.  The program named by
 * deliver.exec (argv, no shell) gets the payload on its standard input and
 * the sender's identity in its environment; exit status 0 within
 * deliver.exec_timeout seconds means delivered, anything else is
 * ERR UNAVAILABLE.  The program runs as the worker does: the daemon's user,
 * no new privileges.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "deliver.h"
#include "macro.h"

#define EXEC_ENV_MAX 16

/* The child: stdin from the pipe, a clean environment, default signals. */
static _noreturn_ void
run_program(char *const *argv, int in, char *const *env)
{
	sigset_t none;
	int fd;

	/* Its own process group: a timeout kills whatever it started too. */
	(void)setpgid(0, 0);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	(void)signal(SIGPIPE, SIG_DFL);
	(void)signal(SIGTERM, SIG_DFL);
	(void)signal(SIGINT, SIG_DFL);
	(void)signal(SIGHUP, SIG_DFL);
	if (dup2(in, STDIN_FILENO) < 0)
		_exit(127);
	/* stdout is not the client's: the program's output joins our log. */
	if ((fd = open("/dev/null", O_WRONLY | O_CLOEXEC)) >= 0)
		(void)dup2(fd, STDOUT_FILENO);
	execve(argv[0], argv, env);
	_exit(127);
}

static void
make_env(char env[EXEC_ENV_MAX][640], char **envp, const struct peer *p, const char *msg_id,
    size_t len)
{
	const char *const pairs[][2] = {
		{ "MTLS_PEER_CN", p->cn }, { "MTLS_PEER_SUBJECT", p->subject },
		{ "MTLS_PEER_ISSUER", p->issuer }, { "MTLS_PEER_SERIAL", p->serial },
		{ "MTLS_PEER_SHA256", p->sha256 }, { "MTLS_REMOTE_ADDR", p->addr },
		{ "MTLS_REMOTE_PORT", p->port }, { "MTLS_MSG_ID", msg_id },
		{ "MTLS_TLS_VERSION", p->version != NULL ? p->version : "" },
		{ "MTLS_TLS_CIPHER", p->cipher != NULL ? p->cipher : "" },
		{ "PATH", "/usr/local/bin:/usr/bin:/bin" },
	};
	size_t i;

	for (i = 0; i < ELEMENTSOF(pairs); i++) {
		snprintf(env[i], sizeof(env[i]), "%s=%s", pairs[i][0], pairs[i][1]);
		envp[i] = env[i];
	}
	snprintf(env[i], sizeof(env[i]), "MTLS_MSG_SIZE=%zu", len);
	envp[i] = env[i];
	envp[i + 1] = NULL;
}

/* Write the payload to the program, within the deadline.  0 or -errno. */
static int
feed(int fd, const char *data, size_t len, uint64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	uint64_t now;
	ssize_t n;

	while (len > 0) {
		n = write(fd, data, len);
		if (n > 0) {
			data += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EPIPE)
			return 0;	/* it did not read it all: its exit status decides */
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if ((now = now_ms()) >= deadline)
			return -ETIMEDOUT;
		(void)poll(&pfd, 1, (int)(deadline - now));
	}
	return 0;
}

/* Wait for pid until the deadline; its status, or -ETIMEDOUT (then killed). */
static int
reap(pid_t pid, uint64_t deadline)
{
	struct timespec pause = { 0, 5000000 };
	int status;
	pid_t r;

	for (;;) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (now_ms() >= deadline) {
			(void)kill(-pid, SIGKILL);
			(void)kill(pid, SIGKILL);
			(void)waitpid(pid, &status, 0);
			return -ETIMEDOUT;
		}
		(void)nanosleep(&pause, NULL);
	}
}

int
deliver_exec_put(char *const *argv, unsigned timeout_s, const struct peer *p,
    const char *msg_id, const void *data, size_t len, char *err, size_t n)
{
	char env[EXEC_ENV_MAX][640], *envp[EXEC_ENV_MAX + 1];
	uint64_t deadline = now_ms() + 1000ULL * timeout_s;
	int fds[2], r, status;
	pid_t pid;

	make_env(env, envp, p, msg_id, len);
	if (pipe2(fds, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
		snprintf(err, n, "cannot start %s: %s", argv[0], strerror(errno));
		return -errno;
	}
	if (pid == 0)
		run_program(argv, fds[0], envp);
	(void)setpgid(pid, pid);	/* no race with the child's own call */
	(void)close(fds[0]);
	(void)fcntl(fds[1], F_SETFL, O_NONBLOCK);
	r = feed(fds[1], data, len, deadline);
	(void)close(fds[1]);
	status = reap(pid, r == -ETIMEDOUT ? now_ms() : deadline);
	if (status == -ETIMEDOUT || r == -ETIMEDOUT) {
		snprintf(err, n, "%s did not finish within deliver.exec_timeout (%u s)", argv[0],
		    timeout_s);
		return -ETIMEDOUT;
	}
	if (status < 0 || r < 0) {
		snprintf(err, n, "%s: %s", argv[0], strerror(-(status < 0 ? status : r)));
		return status < 0 ? status : r;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		snprintf(err, n, "%s exited with status %d%s", argv[0], WEXITSTATUS(status),
		    WEXITSTATUS(status) == 127 ? " (could not be run?)" : "");
	else
		snprintf(err, n, "%s was killed by signal %d", argv[0], WTERMSIG(status));
	return -EIO;
}
