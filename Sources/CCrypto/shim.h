/* SHA256_Init/Update/Final are deprecated in OpenSSL 3 in favour of EVP, whose one-shot
   and streaming paths fetch the algorithm (a lock) and allocate a context per hash; the
   low-level functions hash from a context on the caller's stack. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/bio.h>
