/*
 * ECDSA P-256 / SHA-256 signature verification against Node's own OpenSSL (the library
 * node:crypto uses; Node exports its symbols to addons).
 *
 * Why it exists: through node:crypto, every new public key costs two EC group constructions
 * and a full public-key check (n·Q, redundant on a cofactor-1 curve) before the signature is
 * even looked at, about 130 µs per CSR on Node 20 against about 55 µs here. The CA verifies
 * one fresh key per certificate, so this is most of its issuing cost.
 *
 * verify(point, data, signature) -> 1 valid, 0 invalid signature, -1 invalid public key
 *   point      65-byte uncompressed SEC1 point (0x04 || X || Y)
 *   data       the signed bytes (hashed here with SHA-256)
 *   signature  DER ECDSA-Sig-Value; OpenSSL's ECDSA_verify rejects non-canonical DER
 *
 * Loading runs a known-answer self-test (valid, tampered, off-curve) and fails if it is wrong.
 */
#define OPENSSL_SUPPRESS_DEPRECATED /* EC_KEY: the only OpenSSL 3 API without per-call fetches */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <node_api.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/sha.h>

#define POINT_LENGTH 65
#define MAX_SIGNATURE_LENGTH 80 /* 2 INTEGERs of at most 33 bytes plus headers: 72 */

/* One per Node environment (main thread and each worker): built once, read-only after. */
typedef struct {
  EC_GROUP *group;
} Instance;

static void free_instance(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  Instance *instance = data;
  EC_GROUP_free(instance->group);
  free(instance);
}

static int bytes_of(napi_env env, napi_value value, const unsigned char **bytes, size_t *length) {
  napi_typedarray_type type;
  void *data;
  if (napi_get_typedarray_info(env, value, &type, length, &data, NULL, NULL) != napi_ok ||
      type != napi_uint8_array) {
    return 0;
  }
  *bytes = data;
  return 1;
}

/* 1 when the point is on the curve (oct2point checks it; cofactor 1 makes that sufficient). */
static int verify_with_group(const EC_GROUP *group, const unsigned char *point,
                             const unsigned char *data, size_t data_length,
                             const unsigned char *signature, size_t signature_length) {
  if (point[0] != 0x04) return -1;
  int result = -1;
  EC_KEY *key = EC_KEY_new();
  EC_POINT *public_point = EC_POINT_new(group);
  if (key != NULL && public_point != NULL && EC_KEY_set_group(key, group) == 1 &&
      EC_POINT_oct2point(group, public_point, point, POINT_LENGTH, NULL) == 1 &&
      EC_POINT_is_on_curve(group, public_point, NULL) == 1 &&
      EC_POINT_is_at_infinity(group, public_point) == 0 &&
      EC_KEY_set_public_key(key, public_point) == 1) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(data, data_length, digest);
    result = signature_length <= MAX_SIGNATURE_LENGTH &&
                     ECDSA_verify(0, digest, sizeof digest, signature, (int)signature_length,
                                  key) == 1
                 ? 1
                 : 0;
  }
  EC_POINT_free(public_point);
  EC_KEY_free(key);
  /* Leave nothing on this thread's OpenSSL error queue for node:crypto to trip over. */
  ERR_clear_error();
  return result;
}

/*
 * Known answers checked when the module loads: a build that accepts a tampered signature or
 * an off-curve point (a miscompile, an OpenSSL that behaves differently) must never be used.
 */
static const unsigned char SELF_TEST_POINT[POINT_LENGTH] = {
    0x04, 0x00, 0x5f, 0x36, 0x96, 0xc2, 0xba, 0xdc, 0x18, 0x9f, 0xbe, 0x61,
    0x3b, 0x5f, 0x5d, 0x2a, 0x75, 0x78, 0xe0, 0xf6, 0xdb, 0xfd, 0xce, 0x44,
    0xe2, 0xfa, 0x74, 0x55, 0x18, 0x6e, 0xee, 0x91, 0x62, 0x85, 0x1b, 0x59,
    0x29, 0x12, 0x4a, 0xed, 0x89, 0x76, 0xf5, 0x3f, 0x1d, 0xe9, 0x74, 0x40,
    0xee, 0x6c, 0x84, 0x9d, 0xb2, 0x5b, 0xda, 0x02, 0xe6, 0x10, 0x24, 0x70,
    0xcf, 0x81, 0x72, 0x85, 0x1d,
};
static const unsigned char SELF_TEST_SIGNATURE[] = {
    0x30, 0x45, 0x02, 0x20, 0x3b, 0xc7, 0x26, 0x58, 0xd9, 0x69, 0x06, 0xc5,
    0x88, 0x61, 0xd0, 0xe6, 0x79, 0xef, 0x89, 0x22, 0x18, 0x59, 0x4c, 0xd9,
    0xf7, 0x8f, 0x0f, 0x09, 0x82, 0xfc, 0x6e, 0x74, 0xe5, 0xd1, 0xda, 0xf7,
    0x02, 0x21, 0x00, 0xf7, 0x29, 0x9d, 0x1d, 0x7b, 0xab, 0x08, 0x56, 0x49,
    0x43, 0xd6, 0x4b, 0x43, 0x30, 0xf1, 0x54, 0x0b, 0x09, 0x00, 0xc5, 0xc2,
    0xfa, 0xb4, 0xae, 0xa3, 0xca, 0x7d, 0x77, 0xf9, 0xce, 0xc6, 0x75,
};
static const char SELF_TEST_MESSAGE[] = "nrf-provision p256-verify self-test";

static int passes_self_test(const EC_GROUP *group) {
  const unsigned char *message = (const unsigned char *)SELF_TEST_MESSAGE;
  size_t message_length = sizeof SELF_TEST_MESSAGE - 1;
  unsigned char tampered[sizeof SELF_TEST_MESSAGE - 1];
  unsigned char off_curve[POINT_LENGTH];
  memcpy(tampered, message, message_length);
  tampered[0] ^= 1;
  memcpy(off_curve, SELF_TEST_POINT, POINT_LENGTH);
  off_curve[POINT_LENGTH - 1] ^= 1;
  return verify_with_group(group, SELF_TEST_POINT, message, message_length, SELF_TEST_SIGNATURE,
                           sizeof SELF_TEST_SIGNATURE) == 1 &&
         verify_with_group(group, SELF_TEST_POINT, tampered, message_length, SELF_TEST_SIGNATURE,
                           sizeof SELF_TEST_SIGNATURE) == 0 &&
         verify_with_group(group, off_curve, message, message_length, SELF_TEST_SIGNATURE,
                           sizeof SELF_TEST_SIGNATURE) == -1;
}

static napi_value verify(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  Instance *instance = NULL;
  const unsigned char *point, *data, *signature;
  size_t point_length, data_length, signature_length;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 3 ||
      !bytes_of(env, argv[0], &point, &point_length) ||
      !bytes_of(env, argv[1], &data, &data_length) ||
      !bytes_of(env, argv[2], &signature, &signature_length)) {
    napi_throw_type_error(env, NULL, "verify(point, data, signature) takes three Uint8Arrays");
    return NULL;
  }
  if (napi_get_instance_data(env, (void **)&instance) != napi_ok || instance == NULL) {
    napi_throw_error(env, NULL, "p256-verify: not initialised");
    return NULL;
  }
  int result = point_length == POINT_LENGTH
                   ? verify_with_group(instance->group, point, data, data_length, signature,
                                       signature_length)
                   : -1;
  napi_value out;
  napi_create_int32(env, result, &out);
  return out;
}

NAPI_MODULE_INIT() {
  Instance *instance = calloc(1, sizeof *instance);
  if (instance == NULL) return NULL;
  instance->group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
  ERR_clear_error();
  const char *problem = instance->group == NULL              ? "OpenSSL has no P-256 group"
                        : !passes_self_test(instance->group) ? "failed its known-answer self-test"
                        : napi_set_instance_data(env, instance, free_instance, NULL) != napi_ok
                            ? "cannot keep its state"
                            : NULL;
  if (problem != NULL) {
    EC_GROUP_free(instance->group);
    free(instance);
    char message[96];
    snprintf(message, sizeof message, "p256-verify: %s", problem);
    napi_throw_error(env, NULL, message);
    return NULL;
  }
  napi_value function;
  napi_create_function(env, "verify", NAPI_AUTO_LENGTH, verify, NULL, &function);
  napi_set_named_property(env, exports, "verify", function);
  return exports;
}
