#!/bin/bash
# 30-mtlsctl-errors.sh: mtlsctl's exit status and plain-words explanation
# for each failure, against the live daemon.  Nothing is ever delivered.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"

standard_certs
{
	mkdir "$T/other" &&
	    mtls_certs -d "$T/other" ca &&
	    mtls_certs -d "$T/other" server localhost 127.0.0.1 ::1 &&
	    mtls_certs -d "$T/other" client alice &&
	    mtls_certs --not-before 20200101000000Z --not-after 20210101000000Z \
	    client expired &&
	    mtls_certs --not-before 20900101000000Z --not-after 20910101000000Z \
	    client future
} >>"$T/certs.log" 2>&1 || { cat "$T/certs.log"; hard_error "certificates"; }
cp "$T/alice.crt" "$T/mismatch.crt"
cp "$T/bob.key" "$T/mismatch.key"

start_mtlsd allow_cn='"alice", "expired", "future"'

# explains ERE: mtlsctl's stderr (from the last expect_exit) says ERE.
explains()
{
	expect_grep "$T/err" "$1" "mtlsctl's stderr"
}

info "the working case, for reference"
expect_exit 0 $CTL $(as alice) send ok
expect_exit 0 $CTL $(as alice) -v ping
explains 'TLSv1\.3'

info "CN not on the allowlist: 77"
expect_exit 77 $CTL $(as bob) send hi
explains "bob"
explains "allow"

info "issuer not trusted by the server: 77"
expect_exit 77 $CTL $(as "$T/other/alice") send hi
explains "issuer"

info "no client certificate: 77"
expect_exit 77 $CTL send hi
explains -- "--cert"

info "server unreachable: 69"
expect_exit 69 $MTLSCTL -s 127.0.0.1:1 --ca "$T/ca.crt" $(as alice) send hi

info "server certificate not trusted: 77"
expect_exit 77 $MTLSCTL -s "127.0.0.1:$MTLSD_PORT" --ca "$T/other/ca.crt" \
    $(as alice) send hi
explains "server"

info "server certificate for another name: 77"
expect_exit 77 $CTL --server-name other.example $(as alice) send hi
explains "other\.example"

info "own certificate expired or not yet valid, key not matching: 78"
expect_exit 78 $CTL $(as expired) send hi
explains "expire"
expect_exit 78 $CTL $(as future) send hi
expect_exit 78 $CTL $(as mismatch) send hi
explains "match"

info "usage: 64"
expect_exit 64 $CTL $(as alice)
expect_exit 64 $CTL $(as alice) frobnicate

expect_no_event MTLS_EVENT=message MTLS_MSG=hi
stop_mtlsd
