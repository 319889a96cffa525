// The object identifiers this project reads and writes, named once (RFC 5480, RFC 5758, X.520).

/** id-ecPublicKey (RFC 5480): an EC key; the curve is the algorithm's parameter. */
export const OID_EC_PUBLIC_KEY = "1.2.840.10045.2.1";
/** secp256r1 / prime256v1 (RFC 5480): the only curve the modem and nRF Cloud use. */
export const OID_P256 = "1.2.840.10045.3.1.7";
/** ecdsa-with-SHA256 (RFC 5758). */
export const OID_ECDSA_SHA256 = "1.2.840.10045.4.3.2";
/** ecdsa-with-SHA384 (RFC 5758). */
export const OID_ECDSA_SHA384 = "1.2.840.10045.4.3.3";
/** ecdsa-with-SHA512 (RFC 5758). */
export const OID_ECDSA_SHA512 = "1.2.840.10045.4.3.4";
/** id-at-commonName (X.520). */
export const OID_COMMON_NAME = "2.5.4.3";
