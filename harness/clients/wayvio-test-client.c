// wayvio-test-client: an xdg_toplevel wl_shm client for wayvio's integration tests (pattern) and benchmark (bench).
//
//   wayvio-test-client pattern --width W --height H [--seconds S]
//   wayvio-test-client bench --width W --height H --frames N [--damage full|rows:PERCENT|patch:WxH] [--buffers B]
//                            [--report-damage changed|full] [--warmup N] [--gate 1] [--latencies 1]
//   wayvio-test-client bench --roundtrips N [--warmup N] [--gate 1] [--latencies 1]
//
// pattern: pixel (x, y) = XRGB8888 with r = x & 255, g = y & 255, b = (x*7 + y*13) & 255 (test/helpers/screenshot.ts
// has the same function); prints "ready" once the compositor has shown the first frame, then stays until S seconds
// pass or it is killed.
// bench: commits N frames, each followed by a wl_display.sync round trip (a frame counts once the compositor has
// it), and prints {"frames":N,"seconds":S,"fps":F,"latency_ms":{"median":M,"p99":P},...} on one line.
// The damaged region is the same every frame (only its contents change), so every buffer holds the whole current
// image without tracking buffer age. --report-damage full: still change only that region, but damage the whole
// buffer, as toolkits that damage everything on any change do.
// --warmup N: N untimed frames (or round trips) first. --gate 1: then print "warm" and wait for a line on stdin
// before the timed part, and after printing the result wait for stdin to close before disconnecting (the benchmark
// reads counters at both points while every connection is alive). --latencies 1: add "lat_ms":[...] (every frame).
// Exit codes: 0 done, 1 display connection failed / protocol error / timeout, 2 bad usage.
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <wayland-client.h>
#include "xdg-shell-client-protocol.h"

#define MAX_BUFFERS 16
#define WAIT_MS 20000 /* bound for any single wait on the compositor */

struct buffer {
	struct wl_buffer *wl;
	uint32_t *pixels;
	bool busy;
};

static struct {
	struct wl_display *display;
	struct wl_compositor *compositor;
	uint32_t compositor_version;
	struct wl_shm *shm;
	struct xdg_wm_base *wm_base;
	struct wl_surface *surface;
	struct xdg_surface *xdg_surface;
	struct xdg_toplevel *toplevel;
	bool configured;
	bool ack_pending;
	uint32_t ack_serial;
	bool closed;
	struct buffer buffers[MAX_BUFFERS];
	int nbuffers;
	int width, height;
} g;

static void fail(int code, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "wayvio-test-client: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

/* The display connection broke: say why (protocol error with object and code where there is one) and exit 1. */
static void fail_display(const char *doing)
{
	int err = wl_display_get_error(g.display);
	if (err == EPROTO) {
		const struct wl_interface *iface = NULL;
		uint32_t id = 0;
		uint32_t code = wl_display_get_protocol_error(g.display, &iface, &id);
		fail(1, "protocol error while %s: %s#%u error %u", doing, iface ? iface->name : "unknown", id, code);
	}
	fail(1, "display connection failed while %s: %s", doing, strerror(err ? err : errno));
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Read and dispatch events for at most timeout_ms; returns after the first batch (or the timeout). */
static void dispatch_once(int timeout_ms, const char *doing)
{
	while (wl_display_prepare_read(g.display) != 0) {
		if (wl_display_dispatch_pending(g.display) < 0)
			fail_display(doing);
	}
	if (wl_display_flush(g.display) < 0 && errno != EAGAIN) {
		wl_display_cancel_read(g.display);
		fail_display(doing);
	}
	struct pollfd pfd = { .fd = wl_display_get_fd(g.display), .events = POLLIN };
	int r = poll(&pfd, 1, timeout_ms);
	if (r <= 0) {
		wl_display_cancel_read(g.display);
		if (r < 0 && errno != EINTR)
			fail(1, "poll failed while %s: %s", doing, strerror(errno));
		return;
	}
	if (wl_display_read_events(g.display) < 0)
		fail_display(doing);
	if (wl_display_dispatch_pending(g.display) < 0)
		fail_display(doing);
}

/* Dispatch until *flag becomes true, failing after WAIT_MS. */
static void wait_for(const bool *flag, const char *doing)
{
	double deadline = now_ms() + WAIT_MS;
	while (!*flag) {
		double left = deadline - now_ms();
		if (left <= 0)
			fail(1, "timed out after %d ms while %s", WAIT_MS, doing);
		dispatch_once((int)left + 1, doing);
	}
}

static void done_flag(void *data, struct wl_callback *cb, uint32_t time)
{
	(void)time;
	*(bool *)data = true;
	wl_callback_destroy(cb);
}

static const struct wl_callback_listener done_flag_listener = { .done = done_flag };

static void roundtrip(const char *doing)
{
	bool done = false;
	struct wl_callback *cb = wl_display_sync(g.display);
	wl_callback_add_listener(cb, &done_flag_listener, &done);
	wait_for(&done, doing);
}

static void wm_base_ping(void *data, struct xdg_wm_base *wm_base, uint32_t serial)
{
	(void)data;
	xdg_wm_base_pong(wm_base, serial);
}

static const struct xdg_wm_base_listener wm_base_listener = { .ping = wm_base_ping };

static void registry_global(void *data, struct wl_registry *registry, uint32_t name, const char *interface, uint32_t version)
{
	(void)data;
	if (strcmp(interface, wl_compositor_interface.name) == 0) {
		g.compositor_version = version < 4 ? version : 4;
		g.compositor = wl_registry_bind(registry, name, &wl_compositor_interface, g.compositor_version);
	} else if (strcmp(interface, wl_shm_interface.name) == 0) {
		g.shm = wl_registry_bind(registry, name, &wl_shm_interface, 1);
	} else if (strcmp(interface, xdg_wm_base_interface.name) == 0) {
		g.wm_base = wl_registry_bind(registry, name, &xdg_wm_base_interface, 1);
		xdg_wm_base_add_listener(g.wm_base, &wm_base_listener, NULL);
	}
}

static void registry_global_remove(void *data, struct wl_registry *registry, uint32_t name)
{
	(void)data, (void)registry, (void)name;
}

static const struct wl_registry_listener registry_listener = {
	.global = registry_global,
	.global_remove = registry_global_remove,
};

static void connect_display(bool need_window)
{
	g.display = wl_display_connect(NULL);
	if (!g.display) {
		const char *name = getenv("WAYLAND_DISPLAY");
		fail(1, "cannot connect to the Wayland display %s (XDG_RUNTIME_DIR=%s): %s", name ? name : "wayland-0",
		     getenv("XDG_RUNTIME_DIR") ? getenv("XDG_RUNTIME_DIR") : "(unset)", strerror(errno));
	}
	struct wl_registry *registry = wl_display_get_registry(g.display);
	wl_registry_add_listener(registry, &registry_listener, NULL);
	roundtrip("listing globals");
	if (need_window && (!g.compositor || !g.shm || !g.wm_base))
		fail(1, "the compositor lacks a global we need:%s%s%s", g.compositor ? "" : " wl_compositor",
		     g.shm ? "" : " wl_shm", g.wm_base ? "" : " xdg_wm_base");
}

static void xdg_surface_configure(void *data, struct xdg_surface *xdg_surface, uint32_t serial)
{
	(void)data, (void)xdg_surface;
	g.configured = true;
	g.ack_pending = true;
	g.ack_serial = serial;
}

static const struct xdg_surface_listener xdg_surface_listener = { .configure = xdg_surface_configure };

/* The compositor's suggested size is ignored: the window keeps the size it was asked for. */
static void toplevel_configure(void *data, struct xdg_toplevel *toplevel, int32_t w, int32_t h, struct wl_array *states)
{
	(void)data, (void)toplevel, (void)w, (void)h, (void)states;
}

static void toplevel_close(void *data, struct xdg_toplevel *toplevel)
{
	(void)data, (void)toplevel;
	g.closed = true;
}

static const struct xdg_toplevel_listener toplevel_listener = {
	.configure = toplevel_configure,
	.close = toplevel_close,
};

/* Acks a configure that arrived since the last call; the caller's next commit applies it. */
static bool ack_configure(void)
{
	if (!g.ack_pending)
		return false;
	xdg_surface_ack_configure(g.xdg_surface, g.ack_serial);
	g.ack_pending = false;
	return true;
}

static void create_window(const char *title)
{
	g.surface = wl_compositor_create_surface(g.compositor);
	g.xdg_surface = xdg_wm_base_get_xdg_surface(g.wm_base, g.surface);
	xdg_surface_add_listener(g.xdg_surface, &xdg_surface_listener, NULL);
	g.toplevel = xdg_surface_get_toplevel(g.xdg_surface);
	xdg_toplevel_add_listener(g.toplevel, &toplevel_listener, NULL);
	xdg_toplevel_set_title(g.toplevel, title);
	xdg_toplevel_set_app_id(g.toplevel, "wayvio-test-client");
	wl_surface_commit(g.surface);
	wait_for(&g.configured, "waiting for the first configure");
	ack_configure();
}

static void buffer_release(void *data, struct wl_buffer *wl_buffer)
{
	(void)wl_buffer;
	((struct buffer *)data)->busy = false;
}

static const struct wl_buffer_listener buffer_listener = { .release = buffer_release };

static void create_buffers(int count)
{
	size_t stride = (size_t)g.width * 4;
	size_t size = stride * (size_t)g.height;
	if (size * (size_t)count > INT32_MAX)
		fail(2, "%d buffers of %dx%d do not fit one wl_shm pool", count, g.width, g.height);
	int fd = memfd_create("wayvio-test-client", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)(size * count)) < 0)
		fail(1, "cannot create shared memory: %s", strerror(errno));
	uint8_t *map = mmap(NULL, size * count, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		fail(1, "cannot map shared memory: %s", strerror(errno));
	struct wl_shm_pool *pool = wl_shm_create_pool(g.shm, fd, (int32_t)(size * count));
	for (int i = 0; i < count; i++) {
		struct buffer *b = &g.buffers[i];
		b->pixels = (uint32_t *)(map + size * i);
		b->wl = wl_shm_pool_create_buffer(pool, (int32_t)(size * i), g.width, g.height, (int32_t)stride,
						  WL_SHM_FORMAT_XRGB8888);
		wl_buffer_add_listener(b->wl, &buffer_listener, b);
	}
	wl_shm_pool_destroy(pool);
	close(fd);
	g.nbuffers = count;
}

static inline uint32_t pattern_pixel(uint32_t x, uint32_t y)
{
	return 0xff000000u | (x & 255) << 16 | (y & 255) << 8 | ((x * 7 + y * 13) & 255);
}

static void fill_pattern(uint32_t *pixels, int x0, int y0, int w, int h, uint32_t frame)
{
	uint32_t flip = (frame * 0x00030507u) & 0x00ffffffu; /* frame 0 is the plain pattern */
	for (int y = y0; y < y0 + h; y++) {
		uint32_t *row = pixels + (size_t)y * g.width;
		for (int x = x0; x < x0 + w; x++)
			row[x] = pattern_pixel((uint32_t)x, (uint32_t)y) ^ flip;
	}
}

static void damage(int x, int y, int w, int h)
{
	if (g.compositor_version >= 4)
		wl_surface_damage_buffer(g.surface, x, y, w, h);
	else
		wl_surface_damage(g.surface, x, y, w, h); /* scale 1, no transform: the same rectangle */
}

/* ---- arguments ---- */

struct options {
	const char *mode;
	int width, height;
	double seconds; /* pattern: < 0 means until killed */
	long frames, roundtrips, warmup;
	int buffers;
	bool gate, latencies;
	bool report_full; /* damage the whole buffer each frame, whatever changed (as many toolkits do) */
	int dx, dy, dw, dh; /* damaged rectangle, resolved against width/height */
	const char *damage_spec;
};

static long parse_long(const char *opt, const char *s, long min, long max)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		fail(2, "%s wants an integer in %ld..%ld, got '%s'", opt, min, max, s);
	return v;
}

static void resolve_damage(struct options *o)
{
	const char *d = o->damage_spec;
	o->dx = 0, o->dy = 0, o->dw = o->width, o->dh = o->height;
	if (strcmp(d, "full") == 0)
		return;
	if (strncmp(d, "rows:", 5) == 0) {
		long pct = parse_long("--damage rows:PERCENT", d + 5, 1, 100);
		o->dh = (int)((o->height * pct + 99) / 100);
		return;
	}
	int w, h;
	char extra;
	if (sscanf(d, "patch:%dx%d%c", &w, &h, &extra) == 2 && w > 0 && h > 0 && w <= o->width && h <= o->height) {
		o->dw = w, o->dh = h;
		o->dx = (o->width - w) / 2, o->dy = (o->height - h) / 2;
		return;
	}
	fail(2, "--damage wants full, rows:PERCENT or patch:WxH (within the window), got '%s'", d);
}

static struct options parse_args(int argc, char **argv)
{
	struct options o = { .seconds = -1, .buffers = 2, .damage_spec = "full" };
	if (argc < 2)
		fail(2, "usage: wayvio-test-client pattern|bench [options] (see the top of wayvio-test-client.c)");
	o.mode = argv[1];
	if (strcmp(o.mode, "pattern") != 0 && strcmp(o.mode, "bench") != 0)
		fail(2, "unknown mode '%s': use pattern or bench", o.mode);
	for (int i = 2; i < argc; i++) {
		const char *opt = argv[i];
		if (i + 1 >= argc)
			fail(2, "%s needs a value", opt);
		const char *val = argv[++i];
		if (strcmp(opt, "--width") == 0)
			o.width = (int)parse_long(opt, val, 1, 16384);
		else if (strcmp(opt, "--height") == 0)
			o.height = (int)parse_long(opt, val, 1, 16384);
		else if (strcmp(opt, "--seconds") == 0 && strcmp(o.mode, "pattern") == 0)
			o.seconds = (double)parse_long(opt, val, 0, 86400);
		else if (strcmp(opt, "--frames") == 0 && strcmp(o.mode, "bench") == 0)
			o.frames = parse_long(opt, val, 1, 100000000);
		else if (strcmp(opt, "--roundtrips") == 0 && strcmp(o.mode, "bench") == 0)
			o.roundtrips = parse_long(opt, val, 1, 100000000);
		else if (strcmp(opt, "--buffers") == 0 && strcmp(o.mode, "bench") == 0)
			o.buffers = (int)parse_long(opt, val, 2, MAX_BUFFERS);
		else if (strcmp(opt, "--damage") == 0 && strcmp(o.mode, "bench") == 0)
			o.damage_spec = val;
		else if (strcmp(opt, "--report-damage") == 0 && strcmp(o.mode, "bench") == 0) {
			if (strcmp(val, "full") != 0 && strcmp(val, "changed") != 0)
				fail(2, "--report-damage wants changed or full, got '%s'", val);
			o.report_full = strcmp(val, "full") == 0;
		} else if (strcmp(opt, "--warmup") == 0 && strcmp(o.mode, "bench") == 0)
			o.warmup = parse_long(opt, val, 0, 100000000);
		else if (strcmp(opt, "--gate") == 0 && strcmp(o.mode, "bench") == 0)
			o.gate = parse_long(opt, val, 0, 1) == 1;
		else if (strcmp(opt, "--latencies") == 0 && strcmp(o.mode, "bench") == 0)
			o.latencies = parse_long(opt, val, 0, 1) == 1;
		else
			fail(2, "unknown option %s for mode %s", opt, o.mode);
	}
	if (o.roundtrips > 0 && o.frames > 0)
		fail(2, "bench takes either --frames or --roundtrips, not both");
	if (o.roundtrips == 0) {
		if (o.width == 0 || o.height == 0)
			fail(2, "%s needs --width and --height", o.mode);
		if (strcmp(o.mode, "bench") == 0 && o.frames == 0)
			fail(2, "bench needs --frames N (or --roundtrips N)");
		resolve_damage(&o);
	}
	return o;
}

/* ---- modes ---- */

static int run_pattern(const struct options *o)
{
	connect_display(true);
	create_window("wayvio-test-client pattern");
	create_buffers(1);
	fill_pattern(g.buffers[0].pixels, 0, 0, g.width, g.height, 0);
	wl_surface_attach(g.surface, g.buffers[0].wl, 0, 0);
	damage(0, 0, g.width, g.height);
	bool shown = false;
	struct wl_callback *cb = wl_surface_frame(g.surface);
	wl_callback_add_listener(cb, &done_flag_listener, &shown);
	wl_surface_commit(g.surface);
	wait_for(&shown, "waiting for the first frame callback");
	printf("ready\n");
	fflush(stdout);

	double end = o->seconds < 0 ? -1 : now_ms() + o->seconds * 1e3;
	while (!g.closed) {
		double left = end < 0 ? 60000 : end - now_ms();
		if (left <= 0)
			break;
		dispatch_once((int)left + 1, "showing the pattern");
		if (ack_configure())
			wl_surface_commit(g.surface);
	}
	return 0;
}

static int compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* --gate: say the warm-up is over and wait for the benchmark's go line on stdin. */
static void gate_open(const struct options *o)
{
	if (!o->gate)
		return;
	printf("warm\n");
	fflush(stdout);
	char line[64];
	if (!fgets(line, sizeof line, stdin))
		fail(1, "stdin closed before the go line (--gate)");
}

/* --gate: stay connected until stdin closes. */
static void gate_close(const struct options *o)
{
	if (!o->gate)
		return;
	char line[64];
	while (fgets(line, sizeof line, stdin))
		;
}

static void print_result(long count, double seconds, double *lat, const struct options *o)
{
	double *sorted = malloc((size_t)count * sizeof *sorted);
	if (!sorted)
		fail(1, "out of memory");
	memcpy(sorted, lat, (size_t)count * sizeof *sorted);
	qsort(sorted, (size_t)count, sizeof *sorted, compare_double);
	double median = count % 2 ? sorted[count / 2] : (sorted[count / 2 - 1] + sorted[count / 2]) / 2;
	long p99i = (long)((count * 99 + 99) / 100) - 1; /* nearest rank */
	printf("{\"frames\":%ld,\"seconds\":%.6f,\"fps\":%.3f,\"latency_ms\":{\"median\":%.4f,\"p99\":%.4f}", count,
	       seconds, seconds > 0 ? count / seconds : 0.0, median, sorted[p99i < 0 ? 0 : p99i]);
	free(sorted);
	if (o->latencies) {
		printf(",\"lat_ms\":[");
		for (long i = 0; i < count; i++)
			printf(i ? ",%.4f" : "%.4f", lat[i]);
		printf("]");
	}
	if (o->roundtrips > 0)
		printf(",\"mode\":\"roundtrips\"}\n");
	else
		printf(",\"mode\":\"frames\",\"width\":%d,\"height\":%d,\"damage\":\"%s\",\"damage_bytes\":%ld}\n",
		       o->width, o->height, o->damage_spec, (long)o->dw * o->dh * 4);
	fflush(stdout);
}

static int run_roundtrips(const struct options *o)
{
	connect_display(false);
	double *lat = calloc((size_t)o->roundtrips, sizeof *lat);
	if (!lat)
		fail(1, "out of memory");
	for (long i = 0; i < o->warmup; i++)
		roundtrip("warming up with wl_display.sync");
	gate_open(o);
	double start = now_ms();
	for (long i = 0; i < o->roundtrips; i++) {
		double t0 = now_ms();
		roundtrip("waiting for wl_display.sync");
		lat[i] = now_ms() - t0;
	}
	print_result(o->roundtrips, (now_ms() - start) / 1e3, lat, o);
	free(lat);
	gate_close(o);
	return 0;
}

static struct buffer *next_free_buffer(void)
{
	double deadline = now_ms() + WAIT_MS;
	for (;;) {
		for (int i = 0; i < g.nbuffers; i++)
			if (!g.buffers[i].busy)
				return &g.buffers[i];
		double left = deadline - now_ms();
		if (left <= 0)
			fail(1, "timed out after %d ms waiting for a wl_buffer.release", WAIT_MS);
		dispatch_once((int)left + 1, "waiting for a wl_buffer.release");
	}
}

static int run_bench(const struct options *o)
{
	connect_display(true);
	create_window("wayvio-test-client bench");
	create_buffers(o->buffers);
	for (int i = 0; i < g.nbuffers; i++)
		fill_pattern(g.buffers[i].pixels, 0, 0, g.width, g.height, 0);
	double *lat = calloc((size_t)o->frames, sizeof *lat);
	if (!lat)
		fail(1, "out of memory");
	long total = o->warmup + o->frames;
	double start = now_ms();
	for (long f = 0; f < total && !g.closed; f++) {
		if (f == o->warmup) {
			gate_open(o);
			start = now_ms();
		}
		struct buffer *b = next_free_buffer();
		fill_pattern(b->pixels, o->dx, o->dy, o->dw, o->dh, (uint32_t)f + 1);
		ack_configure();
		wl_surface_attach(g.surface, b->wl, 0, 0);
		/* the first frame shows the whole buffer; later ones only the region that changed, unless told to overstate */
		if (f == 0 || o->report_full)
			damage(0, 0, g.width, g.height);
		else
			damage(o->dx, o->dy, o->dw, o->dh);
		b->busy = true;
		double t0 = now_ms();
		wl_surface_commit(g.surface);
		roundtrip("waiting for wl_display.sync after a commit");
		if (f >= o->warmup)
			lat[f - o->warmup] = now_ms() - t0;
	}
	if (g.closed)
		fail(1, "the compositor closed the window before %ld frames", total);
	print_result(o->frames, (now_ms() - start) / 1e3, lat, o);
	free(lat);
	gate_close(o);
	return 0;
}

int main(int argc, char **argv)
{
	struct options o = parse_args(argc, argv);
	g.width = o.width, g.height = o.height;
	if (strcmp(o.mode, "pattern") == 0)
		return run_pattern(&o);
	if (o.roundtrips > 0)
		return run_roundtrips(&o);
	return run_bench(&o);
}
