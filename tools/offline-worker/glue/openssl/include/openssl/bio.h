/*
 * Compatibility header for the offline mediasoup worker build.
 *
 * Why it exists: Debian builds OpenSSL with kernel TLS support, mediasoup's
 * bundled OpenSSL does not. With kTLS compiled in, OpenSSL asks the write BIO
 * BIO_get_ktls_send() (a BIO_ctrl) before allocating its record write buffer.
 * mediasoup's BIO callback (DtlsTransport.cpp, onSslBioOut) answers 1 for the
 * return phase of every operation that is not exactly BIO_CB_RETURN, so that
 * ctrl reads as "kTLS on", OpenSSL allocates no write buffer and the worker
 * crashes writing the first DTLS handshake reply (ServerHello) to NULL.
 * Here BIO_set_callback_ex installs a trampoline that keeps the callback's
 * answer for everything except a ctrl's return phase, where the BIO's own
 * result stands, as the callback contract intends.
 */
#include_next <openssl/bio.h>

#if defined(__cplusplus) && !defined(TUREEN_COMPAT_OPENSSL_BIO_H)
#define TUREEN_COMPAT_OPENSSL_BIO_H

/* mediasoup installs one callback function on all its BIOs, so one slot suffices. */
inline BIO_callback_fn_ex tureen_bio_user_callback_ex = nullptr;

inline long tureen_bio_callback_ex(
  BIO *bio, int oper, const char *argp, size_t len, int argi, long argl, int ret, size_t *processed)
{
	const long answer =
	  tureen_bio_user_callback_ex ? tureen_bio_user_callback_ex(bio, oper, argp, len, argi, argl, ret, processed) : 1;
	if (oper == (BIO_CB_CTRL | BIO_CB_RETURN))
		return ret;
	return answer;
}

#define BIO_set_callback_ex(bio, callback) \
	(tureen_bio_user_callback_ex = (callback), (BIO_set_callback_ex)((bio), tureen_bio_callback_ex))

#endif
