/* What the podman suite runs inside its containers (built with `gcc -static`, since the containers'
 * root holds nothing but busybox-static and this):
 *   ctrhog hog MIB   touch MIB mebibytes, one page at a time, then sleep: under a smaller memory
 *                    limit the kernel OOM-kills it part way;
 *   ctrhog fds N     open /dev/null N times, then sleep: N fds held against RLIMIT_NOFILE;
 *   ctrhog forks N   fork N sleeping children, and keep trying (every 50 ms) when a fork is refused:
 *                    under a smaller pids limit the pids controller refuses them, and busybox's sh
 *                    would exit at its first refused fork instead of holding the limit;
 *   ctrhog spin N    N threads that busy-loop forever (one process, N runnable threads: under a
 *                    CPU quota they all queue for it).
 * It prints "ready" once the condition holds (fds) so the test knows when to look. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *spin(void *arg) {
    volatile unsigned long x = 0;
    (void)arg;
    for (;;) x++;
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: ctrhog hog MIB | fds N | forks N | spin N\n");
        return 2;
    }
    long n = atol(argv[2]);
    if (strcmp(argv[1], "hog") == 0) {
        for (long i = 0; i < n; i++) {
            char *p = malloc(1 << 20);
            if (!p) {
                perror("malloc");
                return 1;
            }
            for (long off = 0; off < (1 << 20); off += 4096) p[off] = (char)off;
        }
    } else if (strcmp(argv[1], "fds") == 0) {
        for (long i = 0; i < n; i++) {
            if (open("/dev/null", O_RDONLY) < 0) {
                perror("open");
                return 1;
            }
        }
    } else if (strcmp(argv[1], "forks") == 0) {
        for (long i = 0; i < n;) {
            pid_t pid = fork();
            if (pid == 0) {
                for (;;) pause();
            }
            if (pid > 0) {
                i++;
            } else {
                usleep(50000);
            }
        }
    } else if (strcmp(argv[1], "spin") == 0) {
        for (long i = 0; i < n; i++) {
            pthread_t t;
            if (pthread_create(&t, NULL, spin, NULL) != 0) {
                perror("pthread_create");
                return 1;
            }
        }
    } else {
        fprintf(stderr, "unknown mode %s\n", argv[1]);
        return 2;
    }
    printf("ready\n");
    fflush(stdout);
    for (;;) pause();
}
