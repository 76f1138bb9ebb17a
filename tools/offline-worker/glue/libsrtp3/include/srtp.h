/*
 * Compatibility header for the offline mediasoup worker build.
 *
 * Why it exists: mediasoup 3.16.6+ is written against versatica's libsrtp
 * 3.0.0-beta fork, which cannot be downloaded here; Debian ships libsrtp2
 * (2.5). The two differ only in API shape for what mediasoup uses:
 *  - libsrtp3's srtp_policy_t is an opaque handle built with
 *    srtp_policy_create/set_ssrc/set_profile/add_key/set_allow_repeat_tx/
 *    set_window_size/destroy; libsrtp2 has a plain struct of the same name.
 *  - libsrtp3 protects out of place with size_t lengths and an MKI index;
 *    libsrtp2 works in place with int lengths.
 *  - srtp_remove_stream became srtp_stream_remove, and two error codes were
 *    added (buffer_small, cryptex_err).
 * mediasoup uses no MKI and no cryptex, so each call maps one to one.
 * Everything is static inline, so nothing here needs linking.
 */
#ifndef TUREEN_COMPAT_SRTP3_H
#define TUREEN_COMPAT_SRTP3_H

#include <srtp2/srtp.h>
#include <stdlib.h>
#include <string.h>

typedef struct srtp_policy_t *tureen_srtp3_policy_t;

/* Values past libsrtp2's last code (27), so the error-name table keeps them apart. */
#define srtp_err_status_buffer_small ((srtp_err_status_t)28)
#define srtp_err_status_cryptex_err ((srtp_err_status_t)29)

static inline srtp_err_status_t tureen_srtp3_policy_create(tureen_srtp3_policy_t *policy)
{
	*policy = (tureen_srtp3_policy_t)calloc(1, sizeof(struct srtp_policy_t));
	return *policy ? srtp_err_status_ok : srtp_err_status_alloc_fail;
}

static inline void tureen_srtp3_policy_destroy(tureen_srtp3_policy_t policy)
{
	if (!policy)
		return;
	free(policy->key);
	free(policy);
}

static inline srtp_err_status_t tureen_srtp3_policy_set_ssrc(tureen_srtp3_policy_t policy, srtp_ssrc_t ssrc)
{
	policy->ssrc = ssrc;
	return srtp_err_status_ok;
}

static inline srtp_err_status_t tureen_srtp3_policy_set_profile(tureen_srtp3_policy_t policy, srtp_profile_t profile)
{
	srtp_err_status_t err = srtp_crypto_policy_set_from_profile_for_rtp(&policy->rtp, profile);
	if (err != srtp_err_status_ok)
		return err;
	return srtp_crypto_policy_set_from_profile_for_rtcp(&policy->rtcp, profile);
}

/* libsrtp2 wants key and salt in one buffer owned by the policy. */
static inline srtp_err_status_t tureen_srtp3_policy_add_key(
  tureen_srtp3_policy_t policy,
  const uint8_t *key,
  size_t key_len,
  const uint8_t *salt,
  size_t salt_len,
  const uint8_t *mki,
  size_t mki_len)
{
	unsigned char *buffer;
	if (mki != NULL || mki_len != 0 || policy->key != NULL)
		return srtp_err_status_bad_param;
	buffer = (unsigned char *)malloc(key_len + salt_len);
	if (!buffer)
		return srtp_err_status_alloc_fail;
	memcpy(buffer, key, key_len);
	memcpy(buffer + key_len, salt, salt_len);
	policy->key = buffer;
	return srtp_err_status_ok;
}

static inline srtp_err_status_t tureen_srtp3_policy_set_allow_repeat_tx(tureen_srtp3_policy_t policy, int allow)
{
	policy->allow_repeat_tx = allow ? 1 : 0;
	return srtp_err_status_ok;
}

static inline srtp_err_status_t tureen_srtp3_policy_set_window_size(tureen_srtp3_policy_t policy, size_t size)
{
	policy->window_size = (unsigned long)size;
	return srtp_err_status_ok;
}

typedef srtp_err_status_t (*tureen_srtp2_inplace_fn)(srtp_t, void *, int *);

/* libsrtp3 out-of-place protect on top of libsrtp2's in-place one. */
static inline srtp_err_status_t tureen_srtp3_protect_with(
  tureen_srtp2_inplace_fn fn,
  size_t trailer_room,
  srtp_t ctx,
  const uint8_t *in,
  size_t in_len,
  uint8_t *out,
  size_t *out_len)
{
	int len = (int)in_len;
	srtp_err_status_t err;
	if (*out_len < in_len + trailer_room)
		return srtp_err_status_buffer_small;
	if (out != in)
		memmove(out, in, in_len);
	err = fn(ctx, out, &len);
	if (err == srtp_err_status_ok)
		*out_len = (size_t)len;
	return err;
}

static inline srtp_err_status_t tureen_srtp3_protect(
  srtp_t ctx, const uint8_t *in, size_t in_len, uint8_t *out, size_t *out_len, size_t mki_index)
{
	if (mki_index != 0)
		return srtp_err_status_bad_param;
	return tureen_srtp3_protect_with(srtp_protect, SRTP_MAX_TRAILER_LEN, ctx, in, in_len, out, out_len);
}

static inline srtp_err_status_t tureen_srtp3_protect_rtcp(
  srtp_t ctx, const uint8_t *in, size_t in_len, uint8_t *out, size_t *out_len, size_t mki_index)
{
	if (mki_index != 0)
		return srtp_err_status_bad_param;
	/* SRTCP adds the 4-byte E-flag/index word to the trailer. */
	return tureen_srtp3_protect_with(srtp_protect_rtcp, SRTP_MAX_TRAILER_LEN + 4, ctx, in, in_len, out, out_len);
}

static inline srtp_err_status_t tureen_srtp3_unprotect(
  srtp_t ctx, const uint8_t *in, size_t in_len, uint8_t *out, size_t *out_len)
{
	return tureen_srtp3_protect_with(srtp_unprotect, 0, ctx, in, in_len, out, out_len);
}

static inline srtp_err_status_t tureen_srtp3_unprotect_rtcp(
  srtp_t ctx, const uint8_t *in, size_t in_len, uint8_t *out, size_t *out_len)
{
	return tureen_srtp3_protect_with(srtp_unprotect_rtcp, 0, ctx, in, in_len, out, out_len);
}

/* From here on mediasoup's libsrtp3 spelling resolves to the functions above. */
#define srtp_policy_t tureen_srtp3_policy_t
#define srtp_policy_create tureen_srtp3_policy_create
#define srtp_policy_destroy tureen_srtp3_policy_destroy
#define srtp_policy_set_ssrc tureen_srtp3_policy_set_ssrc
#define srtp_policy_set_profile tureen_srtp3_policy_set_profile
#define srtp_policy_add_key tureen_srtp3_policy_add_key
#define srtp_policy_set_allow_repeat_tx tureen_srtp3_policy_set_allow_repeat_tx
#define srtp_policy_set_window_size tureen_srtp3_policy_set_window_size
#define srtp_protect tureen_srtp3_protect
#define srtp_protect_rtcp tureen_srtp3_protect_rtcp
#define srtp_unprotect tureen_srtp3_unprotect
#define srtp_unprotect_rtcp tureen_srtp3_unprotect_rtcp
#define srtp_stream_remove srtp_remove_stream

#endif
