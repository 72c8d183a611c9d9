/*
 * Test certificates made in-process with mbedTLS's X.509 writer (see certs.h). Keys are EC
 * P-256, which takes milliseconds; dates are relative to now, so the set is always fresh.
 *
 * mbedTLS 2.28 has no helper for subjectAltName, so the extension is written by hand as DER:
 * SEQUENCE { [2] IA5String dNSName }. mbedTLS's verifier checks the dNSName entries when a SAN is
 * present and falls back to the CN otherwise; every leaf here carries both, set to the same name.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/asn1write.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "core/err.h"
#include "support/certs.h"

#define DAY (24 * 60 * 60)
#define PEM_CAP 4096 /* one certificate or key in PEM; P-256 needs well under 1 KiB */

/* State of one certs_make() run. */
struct certgen {
    const char *dir;                 /* output directory (borrowed) */
    mbedtls_entropy_context entropy; /* OS entropy for the DRBG */
    mbedtls_ctr_drbg_context drbg;   /* key generation and ECDSA signatures */
    int serial;                      /* last serial number handed out */
    unsigned char pem[PEM_CAP];      /* scratch for one PEM object */
};

/* One certificate to issue. */
struct certspec {
    const char *file;         /* base name: "<file>.pem" and, for a leaf, "<file>.key" */
    const char *subject;      /* subject DN */
    const char *dns;          /* subjectAltName dNSName; NULL for a CA */
    bool is_ca;               /* basicConstraints CA:true and keyCertSign */
    long from_days, to_days;  /* validity relative to now, in days */
    mbedtls_pk_context *key;  /* the subject's key */
    mbedtls_pk_context *ikey; /* the issuer's key (== key when self-signed) */
    const char *issuer;       /* the issuer's DN (== subject when self-signed) */
};

/* Sets the thread's error from an mbedTLS code. Returns -EIO. */
static int mbed_fail(int ret, const char *what)
{
    char why[160];

    mbedtls_strerror(ret, why, sizeof(why));
    return err_set(-EIO, "certs: %s: %s", what, why);
}

/* Writes `len` bytes to dir/name with `mode`, replacing any old file. Returns 0 or -errno. */
static int write_file(const char *dir, const char *name, const void *data, size_t len, int mode)
{
    char path[512];
    int fd, e;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        e = errno;
        return err_set(-e, "certs: cannot create %s: %s", path, strerror(e));
    }
    if (write(fd, data, len) != (ssize_t)len) {
        e = errno ? errno : EIO;
        close(fd);
        return err_set(-e, "certs: cannot write %s: %s", path, strerror(e));
    }
    close(fd);
    return 0;
}

/* Makes a fresh P-256 key in `pk` (initialised by the caller). */
static int gen_key(struct certgen *g, mbedtls_pk_context *pk)
{
    int ret = mbedtls_pk_setup(pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));

    if (ret != 0)
        return mbed_fail(ret, "key setup");
    ret = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(*pk), mbedtls_ctr_drbg_random,
                              &g->drbg);
    if (ret != 0)
        return mbed_fail(ret, "key generation");
    return 0;
}

/* Formats now + days as the writer wants it: "YYYYMMDDhhmmss" in UTC. */
static void x509_time(char out[16], long days)
{
    time_t t = time(NULL) + (time_t)days * DAY;
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, 16, "%Y%m%d%H%M%S", &tm);
}

/* Adds subjectAltName = DNS:name, DER-encoded by hand (mbedTLS 2.28 has no helper). */
static int add_san(mbedtls_x509write_cert *crt, const char *name)
{
    unsigned char der[300];
    unsigned char *p = der + sizeof(der);
    size_t n = strlen(name), len = 0;
    int ret;

    if (n > 255)
        return err_set(-EINVAL, "certs: DNS name too long");
    /* ASN.1 is written back to front: the name, then its [2] tag, then the SEQUENCE around. */
    MBEDTLS_ASN1_CHK_ADD(len,
                         mbedtls_asn1_write_raw_buffer(&p, der, (const unsigned char *)name, n));
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(&p, der, n));
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(&p, der, MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2));
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(&p, der, len));
    MBEDTLS_ASN1_CHK_ADD(
        len, mbedtls_asn1_write_tag(&p, der, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
    return mbedtls_x509write_crt_set_extension(crt, MBEDTLS_OID_SUBJECT_ALT_NAME,
                                               MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), 0, p,
                                               len);
}

/* Issues one certificate as described and writes it (and a leaf's key) into the directory. */
static int issue(struct certgen *g, const struct certspec *cs)
{
    mbedtls_x509write_cert crt;
    mbedtls_mpi serial;
    char from[16], to[16], name[128];
    const char *step = "";
    int ret;

    mbedtls_x509write_crt_init(&crt);
    mbedtls_mpi_init(&serial);
    x509_time(from, cs->from_days);
    x509_time(to, cs->to_days);

    mbedtls_x509write_crt_set_version(&crt, MBEDTLS_X509_CRT_VERSION_3);
    mbedtls_x509write_crt_set_md_alg(&crt, MBEDTLS_MD_SHA256);
    mbedtls_x509write_crt_set_subject_key(&crt, cs->key);
    mbedtls_x509write_crt_set_issuer_key(&crt, cs->ikey);
    if ((ret = mbedtls_mpi_lset(&serial, ++g->serial)) != 0 ||
        (ret = mbedtls_x509write_crt_set_serial(&crt, &serial)) != 0) {
        step = "serial";
        goto out_fail;
    }
    if ((ret = mbedtls_x509write_crt_set_subject_name(&crt, cs->subject)) != 0 ||
        (ret = mbedtls_x509write_crt_set_issuer_name(&crt, cs->issuer)) != 0) {
        step = "names";
        goto out_fail;
    }
    if ((ret = mbedtls_x509write_crt_set_validity(&crt, from, to)) != 0) {
        step = "validity";
        goto out_fail;
    }
    ret = mbedtls_x509write_crt_set_basic_constraints(&crt, cs->is_ca, cs->is_ca ? 0 : -1);
    if (ret == 0)
        ret = mbedtls_x509write_crt_set_key_usage(
            &crt, cs->is_ca ? MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN
                            : MBEDTLS_X509_KU_DIGITAL_SIGNATURE);
    if (ret == 0)
        ret = mbedtls_x509write_crt_set_subject_key_identifier(&crt);
    if (ret == 0)
        ret = mbedtls_x509write_crt_set_authority_key_identifier(&crt);
    if (ret == 0 && cs->dns)
        ret = add_san(&crt, cs->dns);
    if (ret != 0) {
        step = "extensions";
        goto out_fail;
    }
    ret =
        mbedtls_x509write_crt_pem(&crt, g->pem, sizeof(g->pem), mbedtls_ctr_drbg_random, &g->drbg);
    if (ret != 0) {
        step = "signing";
        goto out_fail;
    }
    snprintf(name, sizeof(name), "%s.pem", cs->file);
    ret = write_file(g->dir, name, g->pem, strlen((char *)g->pem), 0644);
    if (ret)
        goto out_free;
    if (!cs->is_ca) {
        ret = mbedtls_pk_write_key_pem(cs->key, g->pem, sizeof(g->pem));
        if (ret != 0) {
            step = "key PEM";
            goto out_fail;
        }
        snprintf(name, sizeof(name), "%s.key", cs->file);
        ret = write_file(g->dir, name, g->pem, strlen((char *)g->pem), 0600);
    }
    goto out_free;

out_fail:
    snprintf(name, sizeof(name), "%s: %s", cs->file, step);
    ret = mbed_fail(ret, name);
out_free:
    mbedtls_mpi_free(&serial);
    mbedtls_x509write_crt_free(&crt);
    return ret;
}

/* Names of the two CAs (the issuer DN of every leaf must match its CA's subject). */
static const char ca_dn[] = "CN=mdfeed test CA,O=mdfeed tests";
static const char other_ca_dn[] = "CN=mdfeed other test CA,O=mdfeed tests";
static const char localhost_dn[] = "CN=localhost,O=mdfeed tests";

int certs_make(const char *dir)
{
    static const char pers[] = "mdfeed test certs";
    struct certgen *g;
    mbedtls_pk_context ca_key, other_key, leaf_key;
    int ret;

    g = calloc(1, sizeof(*g));
    if (!g)
        return err_set(-ENOMEM, "certs: out of memory");
    g->dir = dir;
    mbedtls_entropy_init(&g->entropy);
    mbedtls_ctr_drbg_init(&g->drbg);
    mbedtls_pk_init(&ca_key);
    mbedtls_pk_init(&other_key);
    mbedtls_pk_init(&leaf_key);

    ret = mbedtls_ctr_drbg_seed(&g->drbg, mbedtls_entropy_func, &g->entropy,
                                (const unsigned char *)pers, sizeof(pers) - 1);
    if (ret != 0) {
        ret = mbed_fail(ret, "seeding the random generator");
        goto out_free;
    }
    if ((ret = gen_key(g, &ca_key)) || (ret = gen_key(g, &other_key)))
        goto out_free;

    /* The CAs span every leaf's dates, so only the leaf's own dates decide. */
    const struct certspec cas[] = {
        {"ca", ca_dn, NULL, true, -60, 3650, &ca_key, &ca_key, ca_dn},
        {"other-ca", other_ca_dn, NULL, true, -60, 3650, &other_key, &other_key, other_ca_dn},
    };
    for (size_t i = 0; i < sizeof(cas) / sizeof(cas[0]); i++)
        if ((ret = issue(g, &cas[i])))
            goto out_free;

    /* Each leaf gets its own key; "selfsigned" signs with it. */
    const struct certspec leaves[] = {
        {"good", localhost_dn, "localhost", false, -1, 30, &leaf_key, &ca_key, ca_dn},
        {"wronghost", "CN=wrong.example,O=mdfeed tests", "wrong.example", false, -1, 30, &leaf_key,
         &ca_key, ca_dn},
        {"expired", localhost_dn, "localhost", false, -30, -1, &leaf_key, &ca_key, ca_dn},
        {"notyet", localhost_dn, "localhost", false, 1, 30, &leaf_key, &ca_key, ca_dn},
        {"selfsigned", localhost_dn, "localhost", false, -1, 30, &leaf_key, &leaf_key,
         localhost_dn},
        {"untrusted", localhost_dn, "localhost", false, -1, 30, &leaf_key, &other_key, other_ca_dn},
    };
    for (size_t i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++) {
        mbedtls_pk_free(&leaf_key);
        mbedtls_pk_init(&leaf_key);
        if ((ret = gen_key(g, &leaf_key)) || (ret = issue(g, &leaves[i])))
            goto out_free;
    }

out_free:
    mbedtls_pk_free(&leaf_key);
    mbedtls_pk_free(&other_key);
    mbedtls_pk_free(&ca_key);
    mbedtls_ctr_drbg_free(&g->drbg);
    mbedtls_entropy_free(&g->entropy);
    free(g);
    return ret;
}

static char certs_path[64];    /* the directory, once made */
static pid_t certs_owner;      /* the process that made it (and alone removes it) */
static int certs_err;          /* 0, or why certs_dir() failed */
static char certs_errmsg[256]; /* its message, for every later call */
static pthread_once_t certs_once = PTHREAD_ONCE_INIT; /* makes the directory once */

/* atexit handler: removes the directory and its files, in the creating process only. */
static void certs_cleanup(void)
{
    DIR *d;
    struct dirent *e;
    char path[512];

    if (getpid() != certs_owner || !certs_path[0])
        return;
    d = opendir(certs_path);
    if (d) {
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(path, sizeof(path), "%s/%s", certs_path, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(certs_path);
}

/* pthread_once body of certs_dir(). */
static void certs_setup(void)
{
    char tmpl[] = "/tmp/mdfeed-certs-XXXXXX";

    if (!mkdtemp(tmpl)) {
        certs_err = -errno;
        snprintf(certs_errmsg, sizeof(certs_errmsg), "certs: mkdtemp %s: %s", tmpl,
                 strerror(errno));
        return;
    }
    memcpy(certs_path, tmpl, sizeof(tmpl));
    certs_owner = getpid();
    atexit(certs_cleanup);
    certs_err = certs_make(certs_path);
    if (certs_err)
        snprintf(certs_errmsg, sizeof(certs_errmsg), "%s", mdf_errmsg());
}

const char *certs_dir(void)
{
    pthread_once(&certs_once, certs_setup);
    if (certs_err) {
        err_set(certs_err, "%s", certs_errmsg);
        return NULL;
    }
    return certs_path;
}
