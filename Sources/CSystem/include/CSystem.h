#ifndef CSYSTEM_H
#define CSYSTEM_H

/*
 * Thin wrappers over the Linux system calls the Swift Glibc module hides or makes
 * awkward (epoll's packed event struct, accept4, eventfd, SO_PEERCRED, MSG_NOSIGNAL).
 * Every function returns what the system call returns (-1 with errno set on failure)
 * unless its comment says otherwise. None of them keeps state; all are thread-safe.
 */

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Event bits, the same values as <sys/epoll.h>. */
#define CSYS_EPOLLIN 0x001u
#define CSYS_EPOLLOUT 0x004u
#define CSYS_EPOLLERR 0x008u
#define CSYS_EPOLLHUP 0x010u
#define CSYS_EPOLLRDHUP 0x2000u
#define CSYS_EPOLLEXCLUSIVE (1u << 28)
#define CSYS_EPOLLET (1u << 31)

/* Control operations for csys_epoll_ctl. */
#define CSYS_EPOLL_CTL_ADD 1
#define CSYS_EPOLL_CTL_DEL 2

/* Return value of csys_listen_tcp when `host` is not a numeric IPv4 or IPv6 address. */
#define CSYS_INVALID_ADDRESS (-2)

/* Longest textual address csys_accept writes, with its NUL (INET6_ADDRSTRLEN). */
#define CSYS_ADDRESS_LENGTH 46

/* An epoll event without the packing of `struct epoll_event`, so Swift can read it. */
typedef struct {
    uint32_t events;
    uint64_t data;
} csys_epoll_event;

/* epoll_create1(EPOLL_CLOEXEC). */
int csys_epoll_create(void);

/* epoll_ctl with an event built from `events` and `data`. */
int csys_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data);

/* epoll_wait into `events` (at most `max`, which may not exceed 1024) for up to `timeout_ns`
   nanoseconds (negative: no limit). EINTR is reported as 0 events. */
int csys_epoll_wait(int epfd, csys_epoll_event *events, int max, long long timeout_ns);

/* eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC). */
int csys_eventfd(void);

/* Adds 1 to an eventfd's counter, making it readable. */
int csys_eventfd_signal(int fd);

/* Resets an eventfd's counter to 0; 0 on success or when it was already 0. */
int csys_eventfd_drain(int fd);

/*
 * accept4(SOCK_NONBLOCK | SOCK_CLOEXEC). For an IPv4 or IPv6 peer, writes its address as
 * text into `address` (at least CSYS_ADDRESS_LENGTH bytes; an IPv4-mapped IPv6 address
 * is written in IPv4 form) and sets TCP_NODELAY; for any other family writes "".
 */
int csys_accept(int listen_fd, char *address);

/* SO_PEERCRED of a connected Unix socket: the peer's pid and uid at connect time. */
int csys_peer_credentials(int fd, int32_t *pid, uint32_t *uid);

/*
 * Creates a non-blocking TCP socket bound to the numeric address `host` (IPv4 or IPv6,
 * without brackets) and `port` (0 = ephemeral) with SO_REUSEADDR, listens with `backlog`
 * and stores the bound port in `bound_port`. Returns the socket, -1 with errno, or
 * CSYS_INVALID_ADDRESS when `host` is not a numeric address.
 */
int csys_listen_tcp(const char *host, uint16_t port, int backlog, uint16_t *bound_port);

/*
 * Creates a non-blocking Unix stream socket listening at `path` with file mode 0600.
 * A stale socket file (one nobody accepts on) is removed first; a live one fails with
 * EADDRINUSE, and an existing file that is not a socket fails with EEXIST. The mode is
 * set before listen(2), and connecting to a socket that is not listening is refused,
 * so no client can connect while the mode is wider. Returns the socket or -1 with errno.
 */
int csys_listen_unix(const char *path, int backlog);

/* send(MSG_NOSIGNAL | MSG_DONTWAIT): a closed peer yields EPIPE, never SIGPIPE. */
ssize_t csys_send(int fd, const void *buffer, size_t length);

/* recv(MSG_DONTWAIT). */
ssize_t csys_recv(int fd, void *buffer, size_t length);

/* shutdown(SHUT_WR). */
int csys_shutdown_write(int fd);

/* close(2). */
int csys_close(int fd);

/* Names the calling thread (at most 15 bytes are kept), for ps, top and debuggers. */
int csys_set_thread_name(const char *name);
/* The calling thread's name into `name` (16 bytes at least). */
int csys_get_thread_name(char *name, size_t length);

/* Sets the calling thread's nice value (Linux: per thread), e.g. 10 for work that may wait
   behind the request path; 0 on success, -1 with errno set otherwise. Raising a priority
   (a negative value) needs CAP_SYS_NICE. */
int csys_set_thread_nice(int nice);

/* Moves the calling thread into Linux's SCHED_IDLE class when `idle` (it then runs only
   in the time the other threads leave, and yields the core at once when one wakes), back
   into SCHED_OTHER otherwise; 0 on success, -1 with errno set. */
int csys_set_thread_idle_class(int idle);

/* The calling thread's id (the kernel's, as in /proc/self/task/TID). */
int csys_thread_id(void);

/* 1 when a thread of this process may leave SCHED_IDLE again with nice value `nice`
   (leaving needs CAP_SYS_NICE or an RLIMIT_NICE that allows that nice value), 0 when not:
   tried on a thread of its own, which ends. */
int csys_idle_class_is_reversible(int nice);

/* Opens `path` for writing around the page cache (O_WRONLY | O_DIRECT | O_CLOEXEC); -1 with
   errno set when it cannot (e.g. a file system without O_DIRECT). */
int csys_open_direct_write(const char *path);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t csys_monotonic_nanos(void);

/* CRC-32C (Castagnoli) of `length` bytes, continuing from `crc` (0 to start): with the
   SSE 4.2 instruction where the processor has it, bitwise otherwise. */
uint32_t csys_crc32c(uint32_t crc, const void *bytes, size_t length);

/* The open(2) flag O_DIRECT, which Glibc's module leaves out (it needs _GNU_SOURCE). */
int csys_o_direct(void);

#endif
