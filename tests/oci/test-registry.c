/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What sandy parses of docker:// pulls itself (image/registry.c): references, containers-auth.json. */
#include "registry.h"
#include "tests.h"

static void ref_is(const char *in, const char *domain, const char *repo, const char *tag, const char *digest,
                   const char *pull) {
        RegistryRef r;
        const char *why = NULL;
        int k = registry_ref_parse(in, &r, &why);
        if (k < 0) {
                test_fail(__FILE__, __LINE__, "%s: %s", in, why ?: "?");
                return;
        }
        check_streq(r.domain, domain);
        check_streq(r.repository, repo);
        check_streq(r.tag, tag);
        check_streq(r.digest, digest);
        char *p = registry_ref_to_pull(&r);
        check_streq(p, pull);
        free(p);
        registry_ref_done(&r);
}

static bool ref_invalid(const char *in) {
        RegistryRef r;
        const char *why = NULL;
        if (registry_ref_parse(in, &r, &why) >= 0) {
                registry_ref_done(&r);
                return false;
        }
        return why != NULL;
}

#define D "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

TEST(references) {
        ref_is("debian", "docker.io", "library/debian", "latest", NULL, "docker.io/library/debian:latest");
        ref_is("debian:12", "docker.io", "library/debian", "12", NULL, "docker.io/library/debian:12");
        ref_is("library/debian:12", "docker.io", "library/debian", "12", NULL, "docker.io/library/debian:12");
        ref_is("docker.io/debian", "docker.io", "library/debian", "latest", NULL, "docker.io/library/debian:latest");
        ref_is("index.docker.io/bitnami/redis:7", "docker.io", "bitnami/redis", "7", NULL,
               "docker.io/bitnami/redis:7");
        ref_is("ghcr.io/a/b/c:v1.0_x-y", "ghcr.io", "a/b/c", "v1.0_x-y", NULL, "ghcr.io/a/b/c:v1.0_x-y");
        ref_is("Registry.Test:5443/fixture:1", "registry.test:5443", "fixture", "1", NULL,
               "registry.test:5443/fixture:1");
        ref_is("localhost/x", "localhost", "x", "latest", NULL, "localhost/x:latest");
        ref_is("localhost:5000/x@" D, "localhost:5000", "x", NULL, D, "localhost:5000/x@" D);
        /* skopeo takes no reference with both: the digest decides */
        ref_is("q.io/x:t@" D, "q.io", "x", "t", D, "q.io/x@" D);
        ref_is("203.0.113.40:5000/my_repo/sub-name.x", "203.0.113.40:5000", "my_repo/sub-name.x", "latest", NULL,
               "203.0.113.40:5000/my_repo/sub-name.x:latest");
        ref_is("myhost/x", "docker.io", "myhost/x", "latest", NULL, "docker.io/myhost/x:latest");

        check(ref_invalid(""));
        check(ref_invalid("Debian"));
        check(ref_invalid("q.io/x@sha512:00"));
        check(ref_invalid("q.io/x@sha256:0123"));
        check(ref_invalid("q.io/x:"));
        check(ref_invalid("q.io/x:-t"));
        check(ref_invalid("q.io//x"));
        check(ref_invalid("q.io/x/"));
        check(ref_invalid("q.io/../x"));
        check(ref_invalid("q.io/-x"));
        check(ref_invalid("q.io:0/x"));
        check(ref_invalid("q.io:99999/x"));
        check(ref_invalid("q_io:1/x"));
        check(ref_invalid("q.io/x y"));

        RegistryRef r;
        require(registry_ref_parse("q.io:1/a/b:t@" D, &r, NULL) == 0);
        char *s = registry_ref_to_string(&r);
        check_streq(s, "q.io:1/a/b:t@" D);
        free(s);
        registry_ref_done(&r);
}

static void auth_is(const char *json, const char *ref, int want, const char *user, const char *password) {
        RegistryRef r;
        char *u = NULL, *p = NULL;
        const char *why = NULL;
        if (registry_ref_parse(ref, &r, NULL) < 0) {
                test_fail(__FILE__, __LINE__, "bad reference %s", ref);
                return;
        }
        int k = registry_auth_lookup(json, &r, &u, &p, &why);
        if (k != want)
                test_fail(__FILE__, __LINE__, "%s: %d, not %d (%s)", ref, k, want, why ?: "");
        check_streq(u, user);
        check_streq(p, password);
        free(u);
        free(p);
        registry_ref_done(&r);
}

TEST(auth_file) {
        /* dXNlcjpwYXNz = user:pass, YWxpY2U6czNjcjN0OndpdGg6Y29sb25z = alice:s3cr3t:with:colons,
         * bnM6bnNwdw== = ns:nspw, aHViOmh1Yg== = hub:hub */
        const char *j = "{\"auths\": {"
                        "\"registry.test:5443\": {\"auth\": \"dXNlcjpwYXNz\"},"
                        "\"https://q.io\": {\"auth\": \"YWxpY2U6czNjcjN0OndpdGg6Y29sb25z\"},"
                        "\"q.io/team/\": {\"auth\": \"bnM6bnNwdw==\"},"
                        "\"https://index.docker.io/v1/\": {\"auth\": \"aHViOmh1Yg==\"},"
                        "\"broken.io\": {\"auth\": \"!!!!\"},"
                        "\"nouser.io\": {\"auth\": \"OnB3\"}"
                        "}}";
        auth_is(j, "registry.test:5443/fixture:1", 0, "user", "pass");
        auth_is(j, "registry.test/fixture:1", -ENOENT, NULL, NULL); /* the port is part of the name */
        auth_is(j, "q.io/x", 0, "alice", "s3cr3t:with:colons");
        auth_is(j, "q.io/team/x", 0, "ns", "nspw");
        auth_is(j, "q.io/teamx/y", 0, "alice", "s3cr3t:with:colons");
        auth_is(j, "debian", 0, "hub", "hub");
        auth_is(j, "other.io/x", -ENOENT, NULL, NULL);
        auth_is(j, "broken.io/x", -EBADMSG, NULL, NULL);
        auth_is(j, "nouser.io/x", -EBADMSG, NULL, NULL);
        auth_is("[]", "q.io/x", -EBADMSG, NULL, NULL);
        auth_is("{\"auths\": 1}", "q.io/x", -EBADMSG, NULL, NULL);
        auth_is("not json", "q.io/x", -EBADMSG, NULL, NULL);
        /* "q.io.evil.com" is not "q.io" */
        auth_is("{\"auths\": {\"q.io\": {\"auth\": \"dXNlcjpwYXNz\"}}}", "q.io.evil.com/x", -ENOENT, NULL,
                NULL);
        auth_is("{\"auths\": {\"q.io/x\": {\"auth\": \"dXNlcjpwYXNz\"}}}", "q.io/xy", -ENOENT, NULL, NULL);
}

int main(void) {
        test_init();
        RUN(references);
        RUN(auth_file);
        return test_finish();
}
