/*
 * ticketkeys.h: TLS session-ticket keys shared by every process that runs
 * handshakes, so a ticket issued by one handshake process is accepted by
 * any other, and rotated by the master (on reload and on a timer).  Two keys
 * are live: the current one encrypts, the previous one still decrypts (and
 * the ticket is then renewed).  The keys live in their own shared mapping,
 * which workers unmap right after fork().
 */
#ifndef MTLSD_TICKETKEYS_H
#define MTLSD_TICKETKEYS_H

#include <openssl/ssl.h>

#define TICKET_LIFETIME_SECONDS 3600	/* also the rotation interval */

/* Map and fill the shared keys (master, before forking).  0 or -errno. */
int ticketkeys_init(void);

/* A new current key; the current one becomes the previous one (master). */
int ticketkeys_rotate(void);

/* Use the shared keys for ctx's tickets. */
void ticketkeys_attach(SSL_CTX *ctx);

/* Unmap the keys in this process (workers). */
void ticketkeys_forget(void);

#endif
