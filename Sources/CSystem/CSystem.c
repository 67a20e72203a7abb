#define _GNU_SOURCE
#include "CSystem.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int csys_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int csys_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event event;
    memset(&event, 0, sizeof event);
    event.events = events;
    event.data.u64 = data;
    return epoll_ctl(epfd, op, fd, &event);
}

/* epoll_pwait2 (Linux 5.11) waits to the nanosecond; older kernels: epoll_wait, rounded up to the millisecond. */
static int epoll_pwait2_missing;

int csys_epoll_wait(int epfd, csys_epoll_event *events, int max, long long timeout_ns) {
    struct epoll_event raw[1024];
    if (max > 1024) max = 1024;
    int count = -1;
    if (!__atomic_load_n(&epoll_pwait2_missing, __ATOMIC_RELAXED)) {
        struct timespec ts = { .tv_sec = timeout_ns / 1000000000LL, .tv_nsec = timeout_ns % 1000000000LL };
        count = epoll_pwait2(epfd, raw, max, timeout_ns < 0 ? NULL : &ts, NULL);
        if (count < 0 && errno == ENOSYS) __atomic_store_n(&epoll_pwait2_missing, 1, __ATOMIC_RELAXED);
    }
    if (count < 0 && __atomic_load_n(&epoll_pwait2_missing, __ATOMIC_RELAXED)) {
        long long ms = timeout_ns < 0 ? -1 : (timeout_ns + 999999) / 1000000;
        count = epoll_wait(epfd, raw, max, ms > 2147483647LL ? 2147483647 : (int)ms);
    }
    if (count < 0) return errno == EINTR ? 0 : -1;
    for (int i = 0; i < count; i++) {
        events[i].events = raw[i].events;
        events[i].data = raw[i].data.u64;
    }
    return count;
}

int csys_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

int csys_eventfd_signal(int fd) {
    uint64_t one = 1;
    ssize_t written;
    do {
        written = write(fd, &one, sizeof one);
    } while (written < 0 && errno == EINTR);
    /* EAGAIN means the counter is saturated: the fd is readable, which is all we need. */
    return (written < 0 && errno != EAGAIN) ? -1 : 0;
}

int csys_eventfd_drain(int fd) {
    uint64_t value;
    ssize_t got;
    do {
        got = read(fd, &value, sizeof value);
    } while (got < 0 && errno == EINTR);
    return (got < 0 && errno != EAGAIN) ? -1 : 0;
}

int csys_accept(int listen_fd, char *address) {
    struct sockaddr_storage peer;
    socklen_t length = sizeof peer;
    int fd = accept4(listen_fd, (struct sockaddr *)&peer, &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return -1;
    address[0] = '\0';
    int one = 1;
    if (peer.ss_family == AF_INET) {
        struct sockaddr_in *v4 = (struct sockaddr_in *)&peer;
        inet_ntop(AF_INET, &v4->sin_addr, address, CSYS_ADDRESS_LENGTH);
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    } else if (peer.ss_family == AF_INET6) {
        struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&peer;
        if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
            inet_ntop(AF_INET, &v6->sin6_addr.s6_addr[12], address, CSYS_ADDRESS_LENGTH);
        } else {
            inet_ntop(AF_INET6, &v6->sin6_addr, address, CSYS_ADDRESS_LENGTH);
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return fd;
}

int csys_peer_credentials(int fd, int32_t *pid, uint32_t *uid) {
    struct ucred credentials;
    socklen_t length = sizeof credentials;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) return -1;
    *pid = credentials.pid;
    *uid = credentials.uid;
    return 0;
}

static int fail_closing(int fd) {
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

int csys_listen_tcp(const char *host, uint16_t port, int backlog, uint16_t *bound_port) {
    struct addrinfo hints, *found = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
    char service[8];
    snprintf(service, sizeof service, "%u", (unsigned)port);
    if (getaddrinfo(host, service, &hints, &found) != 0 || found == NULL) {
        if (found) freeaddrinfo(found);
        return CSYS_INVALID_ADDRESS;
    }
    int fd = socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        freeaddrinfo(found);
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int bound = bind(fd, found->ai_addr, found->ai_addrlen);
    freeaddrinfo(found);
    if (bound != 0 || listen(fd, backlog) != 0) return fail_closing(fd);
    struct sockaddr_storage local;
    socklen_t length = sizeof local;
    if (getsockname(fd, (struct sockaddr *)&local, &length) != 0) return fail_closing(fd);
    if (local.ss_family == AF_INET6) {
        *bound_port = ntohs(((struct sockaddr_in6 *)&local)->sin6_port);
    } else {
        *bound_port = ntohs(((struct sockaddr_in *)&local)->sin_port);
    }
    return fd;
}

/* Removes `path` if it is a Unix socket nobody accepts on; see csys_listen_unix. */
static int remove_stale_socket(const char *path, const struct sockaddr_un *address) {
    struct stat status;
    if (lstat(path, &status) != 0) return errno == ENOENT ? 0 : -1;
    if (!S_ISSOCK(status.st_mode)) {
        errno = EEXIST;
        return -1;
    }
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe < 0) return -1;
    int live = connect(probe, (const struct sockaddr *)address, sizeof *address) == 0;
    close(probe);
    if (live) {
        errno = EADDRINUSE;
        return -1;
    }
    return (unlink(path) == 0 || errno == ENOENT) ? 0 : -1;
}

int csys_listen_unix(const char *path, int backlog) {
    struct sockaddr_un address;
    memset(&address, 0, sizeof address);
    address.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof address.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(address.sun_path, path);
    if (remove_stale_socket(path, &address) != 0) return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (bind(fd, (const struct sockaddr *)&address, sizeof address) != 0) return fail_closing(fd);
    /* chmod before listen: until listen(2) every connect is refused, so there is no window. */
    if (chmod(path, 0600) != 0 || listen(fd, backlog) != 0) {
        int saved = errno;
        unlink(path);
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

ssize_t csys_send(int fd, const void *buffer, size_t length) {
    return send(fd, buffer, length, MSG_NOSIGNAL | MSG_DONTWAIT);
}

ssize_t csys_recv(int fd, void *buffer, size_t length) {
    return recv(fd, buffer, length, MSG_DONTWAIT);
}

int csys_shutdown_write(int fd) { return shutdown(fd, SHUT_WR); }

int csys_close(int fd) { return close(fd); }

int csys_set_thread_nice(int nice) { return setpriority(PRIO_PROCESS, (id_t)gettid(), nice); }

int csys_set_thread_idle_class(int idle) {
    struct sched_param param = {0};
    return sched_setscheduler(0, idle ? SCHED_IDLE : SCHED_OTHER, &param);
}

int csys_thread_id(void) { return (int)gettid(); }

static void *idle_class_probe(void *argument) {
    int nice = *(int *)argument;
    intptr_t reversible = setpriority(PRIO_PROCESS, (id_t)gettid(), nice) == 0 && csys_set_thread_idle_class(1) == 0
        && csys_set_thread_idle_class(0) == 0;
    return (void *)reversible;
}

int csys_idle_class_is_reversible(int nice) {
    pthread_t thread;
    if (pthread_create(&thread, NULL, idle_class_probe, &nice) != 0) return 0;
    void *result = NULL;
    if (pthread_join(thread, &result) != 0) return 0;
    return result != NULL;
}

int csys_open_direct_write(const char *path) { return open(path, O_WRONLY | O_DIRECT | O_CLOEXEC); }

int csys_set_thread_name(const char *name) { return pthread_setname_np(pthread_self(), name); }

int csys_get_thread_name(char *name, size_t length) { return pthread_getname_np(pthread_self(), name, length); }

uint64_t csys_monotonic_nanos(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

static uint32_t crc32c_bitwise(uint32_t crc, const unsigned char *p, size_t n) {
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
    }
    return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc32c_sse42(uint32_t crc, const unsigned char *p, size_t n) {
    uint64_t c = crc;
    while (n >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        c = __builtin_ia32_crc32di(c, word);
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n--) c32 = __builtin_ia32_crc32qi(c32, *p++);
    return c32;
}
#endif

uint32_t csys_crc32c(uint32_t crc, const void *bytes, size_t length) {
    const unsigned char *p = bytes;
    crc = ~crc;
#if defined(__x86_64__)
    if (__builtin_cpu_supports("sse4.2")) return ~crc32c_sse42(crc, p, length);
#endif
    return ~crc32c_bitwise(crc, p, length);
}

int csys_o_direct(void) { return O_DIRECT; }
