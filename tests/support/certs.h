/*
 * Test certificates made with mbedTLS's X.509 writer, so no test needs the openssl command. All
 * keys are EC P-256 (quick to generate); every leaf file holds just the leaf.
 */
#ifndef MDF_TESTS_SUPPORT_CERTS_H
#define MDF_TESTS_SUPPORT_CERTS_H

/*
 * Writes into the existing directory `dir`:
 *   ca.pem                        the trusted test CA (CA:true)
 *   good.pem, good.key            CN and DNS SAN "localhost", signed by ca, valid now-1d..now+30d
 *   wronghost.pem, wronghost.key  CN and DNS SAN "wrong.example", signed by ca, valid
 *   expired.pem, expired.key      localhost, signed by ca, valid now-30d..now-1d
 *   notyet.pem, notyet.key        localhost, signed by ca, valid now+1d..now+30d
 *   selfsigned.pem, selfsigned.key  localhost, signed by its own key
 *   untrusted.pem, untrusted.key  localhost, signed by other-ca, valid
 *   other-ca.pem                  a second CA that is NOT in ca.pem (trust it to accept
 *                                 untrusted.pem)
 * Key files are mode 0600. Returns 0, or a negative code with err_set() saying what failed.
 */
int certs_make(const char *dir);

/*
 * The directory of a set of certificates made by certs_make(), created once per process under
 * /tmp ("/tmp/mdfeed-certs-XXXXXX") and removed at exit by the process that created it (not by
 * forked children). Returns the path (static storage), or NULL with err_set() on failure.
 */
const char *certs_dir(void);

#endif /* MDF_TESTS_SUPPORT_CERTS_H */
