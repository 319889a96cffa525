cmd_Release/obj.target/p256_verify/p256_verify.o := cc -o Release/obj.target/p256_verify/p256_verify.o ../p256_verify.c '-DNODE_GYP_MODULE_NAME=p256_verify' '-DUSING_UV_SHARED=1' '-DUSING_V8_SHARED=1' '-DV8_DEPRECATION_WARNINGS=1' '-D_GLIBCXX_USE_CXX11_ABI=1' '-D_FILE_OFFSET_BITS=64' '-D_LARGEFILE_SOURCE' '-D__STDC_FORMAT_MACROS' '-DOPENSSL_NO_PINSHARED' '-DOPENSSL_THREADS' '-DBUILDING_NODE_EXTENSION' -I/usr/include/node -I/usr/src -I/usr/deps/openssl/config -I/usr/deps/openssl/openssl/include -I/usr/deps/uv/include -I/usr/deps/zlib -I/usr/deps/v8/include  -fPIC -pthread -Wall -Wextra -Wno-unused-parameter -O2 -Wall -Wextra -m64 -O3 -fno-omit-frame-pointer  -MMD -MF ./Release/.deps/Release/obj.target/p256_verify/p256_verify.o.d.raw   -c
Release/obj.target/p256_verify/p256_verify.o: ../p256_verify.c \
 /usr/include/node/node_api.h /usr/include/node/js_native_api.h \
 /usr/include/node/js_native_api_types.h \
 /usr/include/node/node_api_types.h /usr/include/node/openssl/ec.h \
 /usr/include/node/openssl/macros.h \
 /usr/include/node/openssl/opensslconf.h \
 /usr/include/node/openssl/configuration.h \
 /usr/include/node/openssl/./configuration_asm.h \
 /usr/include/node/openssl/././archs/linux-x86_64/asm/include/openssl/configuration.h \
 /usr/include/node/openssl/opensslv.h \
 /usr/include/node/openssl/./opensslv_asm.h \
 /usr/include/node/openssl/././archs/linux-x86_64/asm/include/openssl/opensslv.h \
 /usr/include/node/openssl/types.h /usr/include/node/openssl/e_os2.h \
 /usr/include/node/openssl/safestack.h \
 /usr/include/node/openssl/./safestack_asm.h \
 /usr/include/node/openssl/././archs/linux-x86_64/asm/include/openssl/safestack.h \
 /usr/include/node/openssl/stack.h /usr/include/node/openssl/asn1.h \
 /usr/include/node/openssl/./asn1_asm.h \
 /usr/include/node/openssl/././archs/linux-x86_64/asm/include/openssl/asn1.h \
 /usr/include/node/openssl/bio.h /usr/include/node/openssl/./bio_asm.h \
 /usr/include/node/openssl/././archs/linux-x86_64/asm/include/openssl/bio.h \
 /usr/include/node/openssl/crypto.h \
 /usr/include/node/openssl/./crypto_asm.h \
 /usr/include/node/openssl/././archs/linux-x86_64/asm/include/openssl/crypto.h \
 /usr/include/node/openssl/cryptoerr.h \
 /usr/include/node/openssl/symhacks.h \
 /usr/include/node/openssl/cryptoerr_legacy.h \
 /usr/include/node/openssl/core.h /usr/include/node/openssl/bioerr.h \
 /usr/include/node/openssl/asn1err.h /usr/include/node/openssl/bn.h \
 /usr/include/node/openssl/bnerr.h /usr/include/node/openssl/ecerr.h \
 /usr/include/node/openssl/params.h /usr/include/node/openssl/ecdsa.h \
 /usr/include/node/openssl/err.h /usr/include/node/openssl/./err_asm.h \
 /usr/include/node/openssl/././archs/linux-x86_64/asm/include/openssl/err.h \
 /usr/include/node/openssl/lhash.h \
 /usr/include/node/openssl/./lhash_asm.h \
 /usr/include/node/openssl/././archs/linux-x86_64/asm/include/openssl/lhash.h \
 /usr/include/node/openssl/obj_mac.h /usr/include/node/openssl/sha.h
../p256_verify.c:
/usr/include/node/node_api.h:
/usr/include/node/js_native_api.h:
/usr/include/node/js_native_api_types.h:
/usr/include/node/node_api_types.h:
/usr/include/node/openssl/ec.h:
/usr/include/node/openssl/macros.h:
/usr/include/node/openssl/opensslconf.h:
/usr/include/node/openssl/configuration.h:
/usr/include/node/openssl/./configuration_asm.h:
/usr/include/node/openssl/././archs/linux-x86_64/asm/include/openssl/configuration.h:
/usr/include/node/openssl/opensslv.h:
/usr/include/node/openssl/./opensslv_asm.h:
/usr/include/node/openssl/././archs/linux-x86_64/asm/include/openssl/opensslv.h:
/usr/include/node/openssl/types.h:
/usr/include/node/openssl/e_os2.h:
/usr/include/node/openssl/safestack.h:
/usr/include/node/openssl/./safestack_asm.h:
/usr/include/node/openssl/././archs/linux-x86_64/asm/include/openssl/safestack.h:
/usr/include/node/openssl/stack.h:
/usr/include/node/openssl/asn1.h:
/usr/include/node/openssl/./asn1_asm.h:
/usr/include/node/openssl/././archs/linux-x86_64/asm/include/openssl/asn1.h:
/usr/include/node/openssl/bio.h:
/usr/include/node/openssl/./bio_asm.h:
/usr/include/node/openssl/././archs/linux-x86_64/asm/include/openssl/bio.h:
/usr/include/node/openssl/crypto.h:
/usr/include/node/openssl/./crypto_asm.h:
/usr/include/node/openssl/././archs/linux-x86_64/asm/include/openssl/crypto.h:
/usr/include/node/openssl/cryptoerr.h:
/usr/include/node/openssl/symhacks.h:
/usr/include/node/openssl/cryptoerr_legacy.h:
/usr/include/node/openssl/core.h:
/usr/include/node/openssl/bioerr.h:
/usr/include/node/openssl/asn1err.h:
/usr/include/node/openssl/bn.h:
/usr/include/node/openssl/bnerr.h:
/usr/include/node/openssl/ecerr.h:
/usr/include/node/openssl/params.h:
/usr/include/node/openssl/ecdsa.h:
/usr/include/node/openssl/err.h:
/usr/include/node/openssl/./err_asm.h:
/usr/include/node/openssl/././archs/linux-x86_64/asm/include/openssl/err.h:
/usr/include/node/openssl/lhash.h:
/usr/include/node/openssl/./lhash_asm.h:
/usr/include/node/openssl/././archs/linux-x86_64/asm/include/openssl/lhash.h:
/usr/include/node/openssl/obj_mac.h:
/usr/include/node/openssl/sha.h:
