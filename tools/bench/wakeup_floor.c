/* The price of a hand-off between two threads on this machine: two threads pass a token
 * back and forth through two eventfds, each sleeping in epoll_wait until the other writes
 * (what an event loop and a writer thread do once per batch each way). Prints the round
 * trip's median and p99 in microseconds, and the same with both threads pinned to one CPU
 * and to two. A round trip is two wake-ups.
 *   wakeup_floor ROUNDS */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

static int ping, pong;
static long rounds;
static int pin_other = -1;

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void pin(int cpu) {
    if (cpu < 0) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

/* Sleeps in epoll_wait on `fd`, then consumes its count. */
static void await(int epfd, int fd) {
    struct epoll_event event;
    while (epoll_wait(epfd, &event, 1, -1) != 1) {}
    uint64_t value;
    if (read(fd, &value, sizeof value) != sizeof value) exit(1);
}

static int watcher(int fd) {
    int epfd = epoll_create1(0);
    struct epoll_event event = {.events = EPOLLIN, .data.fd = fd};
    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event);
    return epfd;
}

static void *other(void *unused) {
    (void)unused;
    pin(pin_other);
    int epfd = watcher(ping);
    uint64_t one = 1;
    for (long i = 0; i < rounds; i++) {
        await(epfd, ping);
        if (write(pong, &one, sizeof one) != sizeof one) exit(1);
    }
    return NULL;
}

static int compare(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void run(const char *label, int cpu_main, int cpu_other) {
    ping = eventfd(0, 0);
    pong = eventfd(0, 0);
    pin_other = cpu_other;
    cpu_set_t all;
    CPU_ZERO(&all);
    for (int c = 0; c < CPU_SETSIZE; c++) CPU_SET(c, &all);
    pthread_setaffinity_np(pthread_self(), sizeof all, &all);
    pin(cpu_main);
    pthread_t thread;
    pthread_create(&thread, NULL, other, NULL);
    int epfd = watcher(pong);
    uint64_t *trips = malloc(sizeof *trips * (size_t)rounds);
    uint64_t one = 1;
    for (long i = 0; i < rounds; i++) {
        uint64_t start = now_ns();
        if (write(ping, &one, sizeof one) != sizeof one) exit(1);
        await(epfd, pong);
        trips[i] = now_ns() - start;
        /* A gap, as between batches: the other thread goes back to sleep. */
        struct timespec gap = {0, 200000};
        nanosleep(&gap, NULL);
    }
    pthread_join(thread, NULL);
    qsort(trips, (size_t)rounds, sizeof *trips, compare);
    printf("%s: round trip (two wake-ups) p50 %.1f us, p99 %.1f us over %ld rounds\n", label,
           trips[rounds / 2] / 1000.0, trips[rounds * 99 / 100] / 1000.0, rounds);
    free(trips);
    close(epfd);
    close(ping);
    close(pong);
}

int main(int argc, char **argv) {
    rounds = argc > 1 ? atol(argv[1]) : 2000;
    if (rounds < 100) rounds = 100;
    run("unpinned", -1, -1);
    run("one cpu", 0, 0);
    if (sysconf(_SC_NPROCESSORS_ONLN) > 1) run("two cpus", 0, 1);
    return 0;
}
