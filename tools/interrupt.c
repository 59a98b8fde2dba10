/* Ctrl-C (SIGINT): the first asks the library to stop at its next callback
 * (a download's, a conversion's, a token's), which cancels and removes what
 * it was writing; the command then exits 130. A second one quits at once. */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static volatile sig_atomic_t hits;

static void on_interrupt(int sig) {
    (void)sig;
    if (hits++) _exit(130);
    static const char msg[] = "\nnt5: interrupting (Ctrl-C again to quit at once)\n";
    ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)ignored;
}

void interrupt_catch(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int interrupted(void) { return hits != 0; }
