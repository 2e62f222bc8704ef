#include "privdrop.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

int privdrop_to(const char *user, char *err, size_t errlen)
{
    if (errlen)
        err[0] = '\0';
    if (getuid() != 0 && geteuid() != 0)
        return 0;
    if (!user || !*user) {
        snprintf(err, errlen,
                 "refusing to run as root: set run_as_user to the user to become after binding "
                 "(e.g. run_as_user = pregon)");
        return -1;
    }
    errno = 0;
    struct passwd *pw = getpwnam(user);
    if (!pw) {
        snprintf(err, errlen, "run_as_user %s: no such user", user);
        return -1;
    }
    if (pw->pw_uid == 0) {
        snprintf(err, errlen, "run_as_user %s is root: name an unprivileged user", user);
        return -1;
    }
    uid_t uid = pw->pw_uid;
    gid_t gid = pw->pw_gid;
    char name[256];
    snprintf(name, sizeof name, "%s", pw->pw_name);
    /* groups first: once the user id is gone, they can no longer be changed */
    if (initgroups(name, gid) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0) {
        snprintf(err, errlen, "cannot become %s: %s", user, strerror(errno));
        return -1;
    }
    uid_t ru, eu, su;
    gid_t rg, eg, sg;
    if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0 || ru != uid || eu != uid ||
        su != uid || rg != gid || eg != gid || sg != gid) {
        snprintf(err, errlen, "cannot become %s: the ids did not all change", user);
        return -1;
    }
    if (setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0) {
        snprintf(err, errlen, "cannot become %s: root could be regained", user);
        return -1;
    }
    gid_t groups[256];
    int n = getgroups(256, groups);
    if (n < 0) {
        snprintf(err, errlen, "cannot become %s: getgroups: %s", user, strerror(errno));
        return -1;
    }
    for (int i = 0; i < n; i++) {
        if (groups[i] != 0 || gid == 0)
            continue;
        /* group 0 is kept only when the user is a member of it */
        struct group *g = getgrgid(0);
        int member = 0;
        for (char **m = g ? g->gr_mem : NULL; m && *m; m++)
            member |= strcmp(*m, name) == 0;
        if (!member) {
            snprintf(err, errlen, "cannot become %s: group 0 was kept", user);
            return -1;
        }
    }
    return 0;
}
