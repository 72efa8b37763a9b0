/* Overflows its stack by recursing without end, as a runaway recursive parser does. The kernel logs
 * "stackhog[PID]: segfault at ADDR ip IP sp SP error 6" with ADDR next to SP: osdoctor's tests check
 * that kernel.segfault names it and calls it a likely stack overflow. */
#include <string.h>

static int depth(int n) {
    volatile char frame[256];
    memset((char *)frame, n, sizeof frame);
    return depth(n + 1) + frame[n % 256];
}

int main(void) { return depth(0); }
