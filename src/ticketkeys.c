/*
 * ticketkeys.c: shared session-ticket keys (see ticketkeys.h).  The master
 * writes, handshake processes read; a sequence counter (odd while a write is
 * in progress) lets readers retry instead of taking a lock.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "ticketkeys.h"

struct tkey {
	unsigned char name[16];
	unsigned char aes[32];
	unsigned char hmac[32];
};

struct tkeys {
	unsigned seq;
	struct tkey cur, prev;
};

static struct tkeys *shared;

static int
fill(struct tkey *k)
{
	return RAND_bytes((unsigned char *)k, sizeof(*k)) == 1 ? 0 : -EIO;
}

int
ticketkeys_init(void)
{
	shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
	    -1, 0);
	if (shared == MAP_FAILED) {
		shared = NULL;
		return -errno;
	}
	memset(shared, 0, sizeof(*shared));
	if (fill(&shared->cur) < 0 || fill(&shared->prev) < 0)
		return -EIO;
	return 0;
}

int
ticketkeys_rotate(void)
{
	struct tkey next;

	if (shared == NULL || fill(&next) < 0)
		return -EIO;
	__atomic_add_fetch(&shared->seq, 1, __ATOMIC_SEQ_CST);
	shared->prev = shared->cur;
	shared->cur = next;
	__atomic_add_fetch(&shared->seq, 1, __ATOMIC_SEQ_CST);
	OPENSSL_cleanse(&next, sizeof(next));
	return 0;
}

/* A consistent copy of both keys. */
static int
snapshot(struct tkey *cur, struct tkey *prev)
{
	unsigned s1, s2;
	int tries;

	for (tries = 0; shared != NULL && tries < 1000; tries++) {
		s1 = __atomic_load_n(&shared->seq, __ATOMIC_SEQ_CST);
		if (s1 & 1)
			continue;
		*cur = shared->cur;
		*prev = shared->prev;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		s2 = __atomic_load_n(&shared->seq, __ATOMIC_SEQ_CST);
		if (s1 == s2)
			return 0;
	}
	return -EAGAIN;
}

static int
set_hmac(EVP_MAC_CTX *hctx, unsigned char *key)
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, key, 32),
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};

	return EVP_MAC_CTX_set_params(hctx, params);
}

/*
 * OpenSSL's ticket key callback.  Encrypt: 1.  Decrypt: 2 (resume, and
 * issue a fresh ticket: a TLS 1.3 client offers each ticket once, and with
 * 1 OpenSSL would send none on a resumed connection, so every other
 * connection of a reconnecting client would be a full handshake), 0 when
 * the key is unknown (a full handshake follows), -1 on error.
 */
static int
ticket_cb(SSL *ssl, unsigned char name[16], unsigned char *iv, EVP_CIPHER_CTX *ectx,
    EVP_MAC_CTX *hctx, int enc)
{
	struct tkey cur, prev, *k = NULL;
	int r = -1;

	(void)ssl;
	if (snapshot(&cur, &prev) < 0)
		return enc ? -1 : 0;
	if (enc) {
		memcpy(name, cur.name, 16);
		if (RAND_bytes(iv, 16) == 1 &&
		    EVP_EncryptInit_ex(ectx, EVP_aes_256_cbc(), NULL, cur.aes, iv) == 1 &&
		    set_hmac(hctx, cur.hmac) == 1)
			r = 1;
	} else {
		k = memcmp(name, cur.name, 16) == 0 ? &cur :
		    memcmp(name, prev.name, 16) == 0 ? &prev : NULL;
		if (k == NULL)
			r = 0;
		else if (set_hmac(hctx, k->hmac) == 1 &&
		    EVP_DecryptInit_ex(ectx, EVP_aes_256_cbc(), NULL, k->aes, iv) == 1)
			r = 2;	/* always renew: TLS 1.3 clients use a ticket once */
	}
	OPENSSL_cleanse(&cur, sizeof(cur));
	OPENSSL_cleanse(&prev, sizeof(prev));
	return r;
}

void
ticketkeys_attach(SSL_CTX *ctx)
{
	if (shared != NULL)
		SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_cb);
}

void
ticketkeys_forget(void)
{
	if (shared != NULL)
		(void)munmap(shared, sizeof(*shared));
	shared = NULL;
}
