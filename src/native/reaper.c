/*
 * hostd's reaper: what an init process does and Node cannot. becomeSubreaper() makes the
 * primary adopt the orphans of its workers' children (PR_SET_CHILD_SUBREAPER), and reap(pid)
 * collects one exited child (waitpid, never blocking), so none lingers as a zombie.
 * Built by scripts/build.mjs when a C compiler is there; hostd runs without it.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <errno.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>

static napi_value become_subreaper(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  napi_get_boolean(env, prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0, &result);
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

NAPI_MODULE_INIT() {
  napi_property_descriptor properties[] = {
    {"becomeSubreaper", NULL, become_subreaper, NULL, NULL, NULL, napi_default, NULL},
    {"reap", NULL, reap, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, 2, properties);
  return exports;
}
