/* pregon-hello: the bare FastCGI responder bench/webhooks measures the webhook against. It
 * answers every request 200 with a tiny JSON body, from the same number of processes as
 * pregon-fcgi, so the difference is only what the webhook does.
 *
 *   pregon-hello SOCKET_PATH [PROCESSES]
 */
#include <fcgiapp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t kids[256];
static int nkids;

static void on_term(int sig)
{
    for (int i = 0; i < nkids; i++)
        kill(kids[i], sig);
    _exit(0);
}

static int serve(int fd)
{
    FCGX_Request r;
    if (FCGX_InitRequest(&r, fd, 0) != 0)
        return 1;
    while (FCGX_Accept_r(&r) >= 0) {
        char sink[16384];
        while (FCGX_GetStr(sink, sizeof sink, r.in) > 0)
            ;
        FCGX_FPrintF(r.out, "Status: 200 OK\r\nContent-Type: application/json\r\n"
                            "Cache-Control: no-store\r\n\r\n{\"ok\":true}");
        FCGX_Finish_r(&r);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: pregon-hello SOCKET_PATH [PROCESSES]\n");
        return 2;
    }
    int procs = argc > 2 ? atoi(argv[2]) : 4;
    if (procs < 1 || procs > 256)
        procs = 4;
    if (FCGX_Init() != 0)
        return 1;
    unlink(argv[1]);
    mode_t old = umask(0);
    int fd = FCGX_OpenSocket(argv[1], 1024);
    umask(old);
    if (fd < 0) {
        perror("pregon-hello: listen");
        return 1;
    }
    chmod(argv[1], 0666);
    for (int i = 0; i < procs; i++) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(serve(fd));
        if (pid < 0) {
            perror("pregon-hello: fork");
            return 1;
        }
        kids[nkids++] = pid;
    }
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    while (wait(NULL) > 0)
        ;
    return 0;
}
