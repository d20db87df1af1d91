/*
 * ctl_explain.h: mtlsctl's plain-words explanation of a failed connection:
 * the server refusing us (TLS alerts, which TLS 1.3 delivers on the first
 * read), us refusing the server's certificate, timeouts and closes, each
 * mapped to one sysexits code.  Runs in mtlsctl only.
 */
#ifndef MTLSD_CTL_EXPLAIN_H
#define MTLSD_CTL_EXPLAIN_H

#include "ctl_net.h"

/* What we were doing when something failed; it changes the explanation. */
enum ctl_phase {
	CTL_PHASE_HANDSHAKE,
	CTL_PHASE_GREETING,	/* the first read: TLS 1.3 refusals show up here */
	CTL_PHASE_SEND,		/* writing a command or a payload */
	CTL_PHASE_REPLY,	/* waiting for OK, PONG or BYE */
	_CTL_PHASE_MAX,
};

/*
 * Explain the failure recorded in c (and in the OpenSSL error queue, which
 * is drained) as one "mtlsctl: " line and a hint on stderr; returns the
 * exit code: 77 refused by or refusing the other side, 76 protocol or TLS
 * version trouble, 75 timeouts and closes.
 */
int ctl_explain(struct ctl_conn *c, enum ctl_phase phase);

#endif
