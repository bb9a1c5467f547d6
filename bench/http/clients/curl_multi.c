/* The plain libcurl multi loop: the limit of the library underneath
 * ClientSession. INFLIGHT easy handles, each re-added as soon as it is done
 * (keep-alive connections reused), curl_multi_perform + curl_multi_poll.
 *
 *   bench_http_curl_multi URL N INFLIGHT   -> {"req_per_s":..., "seconds":...}
 */
#define _POSIX_C_SOURCE 200809L
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static size_t sink(char* p, size_t s, size_t n, void* u) {
    (void)p;
    *(long*)u += (long)(s * n);
    return s * n;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s URL N INFLIGHT\n", argv[0]);
        return 2;
    }
    const char* url = argv[1];
    long n = atol(argv[2]);
    int inflight = atoi(argv[3]);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURLM* multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)inflight);
    long bytes = 0, started = 0, done = 0;
    CURL** easy = calloc((size_t)inflight, sizeof *easy);
    double t0 = now();
    for (int i = 0; i < inflight && started < n; ++i, ++started) {
        easy[i] = curl_easy_init();
        curl_easy_setopt(easy[i], CURLOPT_URL, url);
        curl_easy_setopt(easy[i], CURLOPT_WRITEFUNCTION, sink);
        curl_easy_setopt(easy[i], CURLOPT_WRITEDATA, &bytes);
        /* as any threaded or event-loop program would (ClientSession does) */
        curl_easy_setopt(easy[i], CURLOPT_NOSIGNAL, 1L);
        curl_multi_add_handle(multi, easy[i]);
    }
    int running = 1;
    while (done < n) {
        curl_multi_perform(multi, &running);
        CURLMsg* m;
        int left;
        while ((m = curl_multi_info_read(multi, &left))) {
            if (m->msg != CURLMSG_DONE) continue;
            CURL* e = m->easy_handle;
            if (m->data.result != CURLE_OK) {
                fprintf(stderr, "transfer failed: %s\n", curl_easy_strerror(m->data.result));
                return 1;
            }
            ++done;
            curl_multi_remove_handle(multi, e);
            if (started < n) {
                ++started;
                curl_multi_add_handle(multi, e);
            }
        }
        if (done < n) curl_multi_poll(multi, NULL, 0, 1000, NULL);
    }
    double secs = now() - t0;
    printf("{\"req_per_s\": %.1f, \"seconds\": %.4f}\n", (double)n / secs, secs);
    for (int i = 0; i < inflight; ++i)
        if (easy[i]) curl_easy_cleanup(easy[i]);
    free(easy);
    curl_multi_cleanup(multi);
    return 0;
}
