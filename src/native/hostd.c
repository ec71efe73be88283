/*
 * hostd's native helper: the few system calls Node does not offer.
 *  - becomeSubreaper(), reap(pid): what an init process does. The primary adopts the
 *    orphans of its workers' children (PR_SET_CHILD_SUBREAPER) and collects them
 *    (waitpid, never blocking), so none lingers as a zombie.
 *  - sendDatagram(address, message): sd_notify. Node cannot send to a Unix datagram socket
 *    (node:dgram is UDP only). "@name" is a name in the abstract namespace.
 *  - bindDatagram(address) / receiveDatagram(fd) / closeFd(fd): the receiving end, so tests
 *    can stand in for systemd's notify socket.
 *  - peerPid(fd): the process at the other end of a connected Unix socket (SO_PEERCRED), so
 *    the control socket can tell a hostd worker (or what it started) from the user's CLI.
 *  - peekInto(fd, buffer): bytes waiting on a socket, left there (MSG_PEEK): a PROXY protocol
 *    header read by the primary for sticky sessions, before the worker reads it.
 *  - intake(fd, window): a worker learns a new connection's peer and peeks at its first
 *    bytes in one call, before the socket reads anything, and takes a whole PROXY header off
 *    the socket, leaving what follows it for the HTTP parser; discard(fd, count) drops what
 *    it peeked of a connection it refuses.
 * Built by scripts/build.mjs when a C compiler is there; hostd runs without it.
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static napi_value throw_errno(napi_env env, const char *what) {
  char message[256];
  snprintf(message, sizeof message, "%s: %s", what, strerror(errno));
  napi_throw_error(env, NULL, message);
  return NULL;
}

/* A Unix socket address from "path" or "@abstract"; returns its length, or 0 if too long. */
static socklen_t unix_address(napi_env env, napi_value value, struct sockaddr_un *address) {
  size_t length = 0;
  memset(address, 0, sizeof *address);
  address->sun_family = AF_UNIX;
  napi_get_value_string_utf8(env, value, address->sun_path, sizeof address->sun_path, &length);
  if (length == 0 || length >= sizeof address->sun_path - 1) return 0;
  if (address->sun_path[0] == '@') {
    address->sun_path[0] = '\0';
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + length);
  }
  return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + length + 1);
}

static napi_value become_subreaper(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  napi_get_boolean(env, prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0, &result);
  return result;
}

/* The kernel's name of the process (PR_SET_NAME, at most 15 bytes): what `top`, `ps -e` and
 * `pgrep` show, which process.title (the command line) does not change. */
static napi_value set_process_name(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char name[16];
  size_t length = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], name, sizeof name, &length) != napi_ok) {
    napi_throw_type_error(env, NULL, "setProcessName(name): name must be a string");
    return NULL;
  }
  napi_value result;
  napi_get_boolean(env, prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0) == 0, &result);
  return result;
}

static napi_value reap(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t pid = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_value_int32(env, argv[0], &pid) != napi_ok || pid <= 0) {
    napi_throw_type_error(env, NULL, "reap(pid): pid must be a positive integer");
    return NULL;
  }
  int status = 0;
  pid_t done;
  do {
    done = waitpid((pid_t)pid, &status, WNOHANG);
  } while (done < 0 && errno == EINTR);
  napi_value result;
  napi_create_int32(env, (int32_t)done, &result);
  return result;
}

static napi_value send_datagram(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct sockaddr_un address;
  socklen_t address_length = argc == 2 ? unix_address(env, argv[0], &address) : 0;
  if (address_length == 0) {
    napi_throw_type_error(env, NULL, "sendDatagram(address, message): a socket path or @name that fits in sun_path");
    return NULL;
  }
  size_t length = 0;
  napi_get_value_string_utf8(env, argv[1], NULL, 0, &length);
  char *message = malloc(length + 1);
  if (message == NULL) return throw_errno(env, "sendDatagram");
  napi_get_value_string_utf8(env, argv[1], message, length + 1, &length);
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ssize_t sent = fd < 0 ? -1 : sendto(fd, message, length, MSG_NOSIGNAL, (struct sockaddr *)&address, address_length);
  int saved = errno;
  if (fd >= 0) close(fd);
  free(message);
  errno = saved;
  if (sent < 0) return throw_errno(env, "sendDatagram");
  return NULL;
}

static napi_value bind_datagram(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct sockaddr_un address;
  socklen_t address_length = argc == 1 ? unix_address(env, argv[0], &address) : 0;
  if (address_length == 0) {
    napi_throw_type_error(env, NULL, "bindDatagram(address): a socket path or @name that fits in sun_path");
    return NULL;
  }
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return throw_errno(env, "bindDatagram");
  if (bind(fd, (struct sockaddr *)&address, address_length) < 0) {
    int saved = errno;
    close(fd);
    errno = saved;
    return throw_errno(env, "bindDatagram");
  }
  napi_value result;
  napi_create_int32(env, fd, &result);
  return result;
}

static napi_value receive_datagram(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd = -1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_get_value_int32(env, argv[0], &fd);
  char buffer[4096];
  ssize_t received = recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
  napi_value result;
  if (received < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      napi_get_null(env, &result);
      return result;
    }
    return throw_errno(env, "receiveDatagram");
  }
  napi_create_string_utf8(env, buffer, (size_t)received, &result);
  return result;
}

static napi_value close_fd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd = -1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_get_value_int32(env, argv[0], &fd);
  if (fd >= 0) close(fd);
  return NULL;
}

static napi_value peer_pid(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd = -1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_get_value_int32(env, argv[0], &fd);
  struct ucred credentials;
  socklen_t length = sizeof credentials;
  int32_t pid = -1;
  if (fd >= 0 && getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0) pid = (int32_t)credentials.pid;
  napi_value result;
  napi_create_int32(env, pid, &result);
  return result;
}

/* The fd and the Buffer of (fd, buffer) calls, at least `least` bytes long; false (a TypeError thrown) when they are not. */
static bool fd_and_buffer(napi_env env, napi_callback_info info, const char *usage, size_t least, int32_t *fd, void **data, size_t *length) {
  size_t argc = 2;
  napi_value argv[2];
  bool is_buffer = false;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2 || napi_get_value_int32(env, argv[0], fd) != napi_ok || *fd < 0 || napi_is_buffer(env, argv[1], &is_buffer) != napi_ok || !is_buffer ||
      napi_get_buffer_info(env, argv[1], data, length) != napi_ok || *length < least) {
    napi_throw_type_error(env, NULL, usage);
    return false;
  }
  return true;
}

/* peekInto(fd, buffer): the bytes waiting on a socket, peeked into a Buffer the caller keeps
 * (a Buffer made here has its own backing store, which V8 must track and free: measured at
 * several µs a connection). The primary reads a PROXY protocol header so to pick a worker under
 * sticky sessions, and hands the connection on whole. How many bytes were copied, 0 at end of
 * stream, -1 when none are there yet; throws on an error (a reset). */
static napi_value peek_into(napi_env env, napi_callback_info info) {
  int32_t fd = -1;
  void *data = NULL;
  size_t length = 0;
  if (!fd_and_buffer(env, info, "peekInto(fd, buffer): fd >= 0 and a Buffer of at least one byte", 1, &fd, &data, &length)) return NULL;
  ssize_t got;
  do {
    got = recv(fd, data, length, MSG_PEEK | MSG_DONTWAIT);
  } while (got < 0 && errno == EINTR);
  if (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return throw_errno(env, "peekInto");
  napi_value result;
  napi_create_int32(env, got < 0 ? -1 : (int32_t)got, &result);
  return result;
}

/* What intake() writes at the end of its window: the peer's family (4, 6, or 0 for another), a
 * pad byte, the port (big-endian), the address's 4 or 16 bytes; then how many bytes of a PROXY
 * header it took off the socket (uint16, big-endian), and two pad bytes. */
#define TAIL_BYTES 24
#define TAKEN_AT 20

/* The length of the PROXY protocol header the peeked bytes begin with, when it is all there; 0
 * when it is not, or they hold none (the parser in proxy-protocol.ts, which decides, is told
 * the same bytes: this finds only where a header would end, as it does). */
static size_t header_length(const unsigned char *data, size_t got) {
  static const unsigned char v2[12] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};
  if (got >= 16 && memcmp(data, v2, sizeof v2) == 0) {
    size_t length = 16 + (((size_t)data[14] << 8) | data[15]);
    return length <= got ? length : 0;
  }
  if (got >= 6 && memcmp(data, "PROXY ", 6) == 0) {
    /* A v1 header ends at its first CRLF, within 107 bytes. */
    size_t limit = got < 107 ? got : 107;
    for (size_t i = 0; i + 1 < limit; i++)
      if (data[i] == '\r' && data[i + 1] == '\n') return i + 2;
  }
  return 0;
}

/* intake(fd, window): what a worker needs of a new connection under proxy_protocol, in one
 * call: the peer's address (getpeername) in the window's tail, so it can tell a trusted proxy
 * without making strings; the bytes waiting, peeked into the rest; and, when they begin with a
 * whole PROXY header, that header taken off the socket (discarded: its bytes are in the
 * window), so the HTTP parser or TLS reads the connection natively from its first own byte, as
 * without a header. How many bytes it peeked, 0 at end of stream, -1 when none are there yet;
 * throws on an error (a reset). */
static napi_value intake(napi_env env, napi_callback_info info) {
  int32_t fd = -1;
  unsigned char *data = NULL;
  size_t length = 0;
  if (!fd_and_buffer(env, info, "intake(fd, window): fd >= 0 and a Buffer of more than 24 bytes", TAIL_BYTES + 1, &fd, (void **)&data, &length)) return NULL;
  unsigned char *tail = data + length - TAIL_BYTES;
  struct sockaddr_storage address;
  socklen_t size = sizeof address;
  memset(tail, 0, TAIL_BYTES);
  if (getpeername(fd, (struct sockaddr *)&address, &size) != 0) return throw_errno(env, "intake");
  if (address.ss_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)&address;
    tail[0] = 4;
    memcpy(tail + 2, &in->sin_port, 2);
    memcpy(tail + 4, &in->sin_addr, 4);
  } else if (address.ss_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&address;
    tail[0] = 6;
    memcpy(tail + 2, &in6->sin6_port, 2);
    memcpy(tail + 4, &in6->sin6_addr, 16);
  }
  ssize_t got;
  do {
    got = recv(fd, data, length - TAIL_BYTES, MSG_PEEK | MSG_DONTWAIT);
  } while (got < 0 && errno == EINTR);
  if (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return throw_errno(env, "intake");
  size_t header = got > 0 ? header_length(data, (size_t)got) : 0;
  if (header > 0) {
    /* MSG_TRUNC: TCP discards the bytes rather than copy them (Linux 2.4.4 and later). */
    ssize_t taken;
    do {
      taken = recv(fd, NULL, header, MSG_TRUNC | MSG_DONTWAIT);
    } while (taken < 0 && errno == EINTR);
    if (taken < 0) return throw_errno(env, "intake");
    tail[TAKEN_AT] = (unsigned char)(taken >> 8);
    tail[TAKEN_AT + 1] = (unsigned char)(taken & 0xff);
  }
  napi_value result;
  napi_create_int32(env, got < 0 ? -1 : (int32_t)got, &result);
  return result;
}

/* discard(fd, count): takes up to `count` waiting bytes off a socket and drops them; how many it
 * took (0 when none were there). A worker drops what it peeked of a connection it refuses for a
 * bad PROXY header, so closing it ends it cleanly rather than with a reset (unread bytes make
 * the kernel answer a close with RST). */
static napi_value discard(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd = -1;
  int32_t count = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_value_int32(env, argv[1], &count) != napi_ok || fd < 0 || count < 0) {
    napi_throw_type_error(env, NULL, "discard(fd, count): fd >= 0, count >= 0");
    return NULL;
  }
  ssize_t taken = 0;
  if (count > 0) {
    do {
      taken = recv(fd, NULL, (size_t)count, MSG_TRUNC | MSG_DONTWAIT);
    } while (taken < 0 && errno == EINTR);
  }
  napi_value result;
  napi_create_int32(env, taken < 0 ? 0 : (int32_t)taken, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor properties[] = {
    {"becomeSubreaper", NULL, become_subreaper, NULL, NULL, NULL, napi_enumerable, NULL},
    {"reap", NULL, reap, NULL, NULL, NULL, napi_enumerable, NULL},
    {"setProcessName", NULL, set_process_name, NULL, NULL, NULL, napi_enumerable, NULL},
    {"sendDatagram", NULL, send_datagram, NULL, NULL, NULL, napi_enumerable, NULL},
    {"bindDatagram", NULL, bind_datagram, NULL, NULL, NULL, napi_enumerable, NULL},
    {"receiveDatagram", NULL, receive_datagram, NULL, NULL, NULL, napi_enumerable, NULL},
    {"closeFd", NULL, close_fd, NULL, NULL, NULL, napi_enumerable, NULL},
    {"peerPid", NULL, peer_pid, NULL, NULL, NULL, napi_enumerable, NULL},
    {"peekInto", NULL, peek_into, NULL, NULL, NULL, napi_enumerable, NULL},
    {"intake", NULL, intake, NULL, NULL, NULL, napi_enumerable, NULL},
    {"discard", NULL, discard, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties);
  return exports;
}
