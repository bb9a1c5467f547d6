#include "html.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>

#include "python_runner.hpp"
#include "report.hpp"

namespace concur_bench {

std::string html_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
        }
    }
    return out;
}

namespace {

constexpr const char* kStyle = R"(
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:60em;color:#222;padding:0 1em}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.8em 0;font-size:.9em}
td,th{border:1px solid #ddd;padding:.25em .6em;text-align:right}
td:first-child,th:first-child{text-align:left}
.note{color:#555;font-size:.9em}.verdict{background:#f3f7ff;border-left:4px solid #4a7bd0;padding:.5em .8em}
.skipped{color:#8a5300;font-size:.9em}.wrong{color:#b00020;font-weight:bold}
svg text{font-size:12px;font-family:system-ui,sans-serif}
.bar{fill:#4a7bd0}.bar.python{fill:#e08a2e}.whisker{stroke:#222;stroke-width:1}
.curve-threads{stroke:#4a7bd0}.curve-processes{stroke:#2e9e5b}.ideal{stroke:#999;stroke-dasharray:4 3}
#bench-check{font-size:.8em;color:#777}
)";

// Checks every chart against the counts the C++ side wrote into it.
constexpr const char* kScript = R"(
(function () {
  // The words are split so that the script's own text, which --dump-dom
  // also shows, never reads as a result.
  var marker = document.getElementById('bench-check'), tag = 'BENCH-CHECK-';
  function fail(msg) {
    marker.textContent = tag + 'FAIL: ' + msg;
    marker.setAttribute('data-status', 'fail');
  }
  window.addEventListener('error', function (e) { fail('script error: ' + e.message); });
  try {
    var problems = [], charts = 0;
    var sections = document.querySelectorAll('section.experiment');
    var expected = parseInt(document.body.getAttribute('data-experiments'), 10);
    if (sections.length !== expected)
      problems.push('found ' + sections.length + ' experiments, expected ' + expected);
    sections.forEach(function (s) {
      var name = s.getAttribute('data-experiment');
      var svg = s.querySelector('svg.chart.bars');
      if (!svg) { problems.push(name + ': no bar chart'); return; }
      charts++;
      var want = parseInt(svg.getAttribute('data-bars'), 10);
      var bars = svg.querySelectorAll('rect.bar');
      if (bars.length !== want) problems.push(name + ': ' + bars.length + ' bars, expected ' + want);
      if (s.getAttribute('data-measured') === 'true' && want === 0) problems.push(name + ': measured but no bars');
      bars.forEach(function (b) {
        var box = b.getBBox();
        if (!(box.width > 0 && box.height > 0)) problems.push(name + ': a bar has no size');
      });
      var curve = s.querySelector('svg.chart.curve');
      if (curve) {
        charts++;
        var lines = curve.querySelectorAll('polyline.curve');
        var wantLines = parseInt(curve.getAttribute('data-lines'), 10);
        if (lines.length !== wantLines) problems.push(name + ': ' + lines.length + ' curves, expected ' + wantLines);
        lines.forEach(function (l) { if (!(l.getTotalLength() > 0)) problems.push(name + ': an empty curve'); });
      }
    });
    if (problems.length) fail(problems.join('; '));
    else { marker.textContent = tag + 'OK charts=' + charts; marker.setAttribute('data-status', 'ok'); }
  } catch (e) { fail('exception: ' + e); }
})();
)";

struct Bar {
    std::string label;
    Summary wall;
    bool python;
};

std::string bar_chart(const Result& r) {
    std::vector<Bar> bars;
    for (const Row& row : r.rows) {
        std::string label = r.name == "scale" && row.method != "sequential"
                                ? fmt::format("{} x{}", row.method, row.workers)
                                : row.method;
        bars.push_back({label, row.wall(), false});
    }
    for (const PythonRow& p : r.python) bars.push_back({"Python " + p.method, p.wall(), true});
    const int label_w = 170, plot_w = 480, bar_h = 18, gap = 6, top = 8;
    int height = top + int(bars.size()) * (bar_h + gap) + 28;
    if (bars.empty()) height = 40;
    double max_s = 0;
    for (const Bar& b : bars) max_s = std::max(max_s, b.wall.max);
    if (max_s <= 0) max_s = 1;
    std::string svg = fmt::format(
        "<svg class=\"chart bars\" data-bars=\"{}\" width=\"{}\" height=\"{}\" role=\"img\" "
        "aria-label=\"{}: median wall time per method\" xmlns=\"http://www.w3.org/2000/svg\">\n",
        bars.size(), label_w + plot_w + 90, height, html_escape(r.name));
    if (bars.empty())
        svg += "<text x=\"10\" y=\"24\">not measured (see skipped)</text>\n";
    for (std::size_t i = 0; i < bars.size(); ++i) {
        const Bar& b = bars[i];
        int y = top + int(i) * (bar_h + gap);
        double w = std::max(1.0, plot_w * b.wall.median / max_s);
        double x0 = label_w + plot_w * b.wall.min / max_s, x1 = label_w + plot_w * b.wall.max / max_s;
        svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>", label_w - 6,
                           y + bar_h - 5, html_escape(b.label));
        svg += fmt::format("<rect class=\"bar{}\" x=\"{}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\">"
                           "<title>{}: median {:.4f} s (min {:.4f}, max {:.4f})</title></rect>",
                           b.python ? " python" : "", label_w, y, w, bar_h, html_escape(b.label),
                           b.wall.median, b.wall.min, b.wall.max);
        svg += fmt::format("<line class=\"whisker\" x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{}\" y2=\"{}\"/>",
                           x0, x1, y + bar_h / 2, y + bar_h / 2);
        svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\">{:.3f} s</text>\n", label_w + w + 6, y + bar_h - 5,
                           b.wall.median);
    }
    if (!bars.empty())
        svg += fmt::format("<text x=\"{}\" y=\"{}\">median wall time, s (line: min to max; orange: "
                           "Python)</text>\n",
                           label_w, height - 8);
    return svg + "</svg>\n";
}

// The scale experiment's speedup against workers, one line per method,
// with the ideal (one core per worker, up to the cores there are) dashed.
std::string curve_chart(const Result& r, unsigned cores) {
    unsigned max_w = 1;
    double max_s = 1;
    for (const Row& row : r.rows) {
        max_w = std::max(max_w, row.workers);
        max_s = std::max(max_s, r.speedup(row));
    }
    max_s = std::max(max_s, double(std::min(max_w, cores))) * 1.1;
    const int left = 50, w = 520, h = 260, top = 12;
    auto px = [&](double x) { return left + w * (max_w == 1 ? 0.5 : (x - 1) / double(max_w - 1)); };
    auto py = [&](double y) { return top + h - h * y / max_s; };
    std::vector<std::string> lines;
    for (const char* method : {"threads", "processes"}) {
        std::string pts;
        for (const Row& row : r.rows)
            if (row.method == method) pts += fmt::format("{:.1f},{:.1f} ", px(row.workers), py(r.speedup(row)));
        if (!pts.empty())
            lines.push_back(fmt::format("<polyline class=\"curve curve-{}\" fill=\"none\" stroke-width=\"2\" "
                                        "points=\"{}\"><title>{}</title></polyline>\n",
                                        method, pts, method));
    }
    std::string svg = fmt::format("<svg class=\"chart curve\" data-lines=\"{}\" width=\"{}\" height=\"{}\" "
                                  "role=\"img\" aria-label=\"speedup curve\" "
                                  "xmlns=\"http://www.w3.org/2000/svg\">\n",
                                  lines.size(), left + w + 120, top + h + 40);
    svg += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#222\"/>", left, top + h,
                       left + w, top + h);
    svg += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#222\"/>\n", left, top, left,
                       top + h);
    for (unsigned x = 1; x <= max_w; ++x)
        svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>", px(x), top + h + 16, x);
    for (int y = 0; y <= int(max_s); ++y)
        svg += fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{}x</text>", left - 6, py(y) + 4, y);
    std::string ideal;
    for (unsigned x = 1; x <= max_w; ++x) ideal += fmt::format("{:.1f},{:.1f} ", px(x), py(std::min(x, cores)));
    svg += fmt::format("\n<polyline class=\"ideal\" fill=\"none\" points=\"{}\"/>\n", ideal);
    for (const std::string& l : lines) svg += l;
    svg += fmt::format("<text x=\"{}\" y=\"{}\">workers</text>", left + w / 2 - 20, top + h + 34);
    svg += fmt::format("<text x=\"{}\" y=\"{}\" fill=\"#4a7bd0\">threads</text>"
                       "<text x=\"{}\" y=\"{}\" fill=\"#2e9e5b\">processes</text>"
                       "<text x=\"{}\" y=\"{}\" fill=\"#999\">ideal ({} cores)</text>\n",
                       left + w + 10, top + 20, left + w + 10, top + 38, left + w + 10, top + 56, cores);
    return svg + "</svg>\n";
}

std::string table(const Result& r) {
    std::string t = "<table><tr><th>method</th><th>workers</th><th>wall s (median)</th><th>min</th>"
                    "<th>max</th><th>CPU s</th><th>speedup</th><th>vs Python</th><th>check</th></tr>\n";
    for (const Row& row : r.rows) {
        Summary w = row.wall();
        t += fmt::format("<tr><td>{}</td><td>{}</td><td>{:.4f}</td><td>{:.4f}</td><td>{:.4f}</td><td>{:.3f}{}</td>"
                         "<td>{:.2f}x</td><td>{}</td><td class=\"{}\">{}</td></tr>\n",
                         html_escape(row.method), row.workers, w.median, w.min, w.max, row.cpu().median,
                         row.cpu_complete ? "" : "*", r.speedup(row), format_ratio(r.vs_python(row)),
                         row.check == Check::wrong ? "wrong" : "", check_name(row.check));
    }
    for (const PythonRow& p : r.python) {
        Summary w = p.wall();
        t += fmt::format("<tr><td>Python {}</td><td></td><td>{:.4f}</td><td>{:.4f}</td><td>{:.4f}</td>"
                         "<td>{:.3f}</td><td></td><td></td><td class=\"{}\">{}</td></tr>\n",
                         html_escape(p.method), w.median, w.min, w.max, summarize(p.cpu_s).median,
                         p.check == Check::wrong ? "wrong" : "", check_name(p.check));
    }
    return t + "</table>\n";
}

}  // namespace

std::string render_html(const Machine& m, const Settings& s, const std::vector<Result>& results) {
    std::time_t now = std::time(nullptr);
    char when[64];
    std::strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
    std::string python = "not run";
    if (s.python != PythonMode::off) {
        const PythonEnv& env = find_python(s);
        python = env.exe.empty() ? env.why_not : env.exe + " " + env.version;
    }
    std::string h = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
                    "<title>concur-bench report</title>\n<style>";
    h += kStyle;
    h += fmt::format("</style></head>\n<body data-experiments=\"{}\">\n", results.size());
    h += "<h1>concur-bench: threads, coroutines or processes?</h1>\n";
    h += fmt::format("<table class=\"machine\"><tr><th>CPU</th><td>{}</td></tr><tr><th>cores</th><td>{}</td></tr>"
                     "<tr><th>kernel</th><td>{}</td></tr><tr><th>compiler</th><td>{}</td></tr>"
                     "<tr><th>event loop backend</th><td>{}</td></tr><tr><th>Python</th><td>{}</td></tr>"
                     "<tr><th>runs per method</th><td>{} (median shown)</td></tr><tr><th>measured</th><td>{}</td></tr>"
                     "</table>\n",
                     html_escape(m.cpu_model), m.cores, html_escape(m.kernel), html_escape(m.compiler),
                     html_escape(m.loop_backend), html_escape(python), s.repeat, when);
    h += "<h2>Verdicts</h2>\n<ul>\n";
    for (const Result& r : results)
        h += fmt::format("<li><b>{}</b>: {}</li>\n", html_escape(r.name), html_escape(r.verdict));
    h += "</ul>\n";
    for (const Result& r : results) {
        bool measured = !r.rows.empty() || !r.python.empty();
        h += fmt::format("<section class=\"experiment\" id=\"exp-{0}\" data-experiment=\"{0}\" "
                         "data-measured=\"{1}\">\n<h2>{0}: {2}</h2>\n",
                         html_escape(r.name), measured ? "true" : "false", html_escape(r.title));
        if (!r.scale_note.empty()) h += fmt::format("<p class=\"note\">{}</p>\n", html_escape(r.scale_note));
        h += bar_chart(r);
        if (r.name == "scale" && r.rows.size() > 1) h += curve_chart(r, std::max(1u, m.cores));
        if (measured) h += table(r);
        for (const std::string& why : r.skipped)
            h += fmt::format("<p class=\"skipped\">skipped: {}</p>\n", html_escape(why));
        h += fmt::format("<p class=\"verdict\">{}</p>\n</section>\n", html_escape(r.verdict));
    }
    h += "<p class=\"note\">* CPU s of the bench's own process only: the work ran in worker processes.</p>\n";
    h += "<p id=\"bench-check\" data-status=\"pending\">BENCH-CHECK-PENDING</p>\n<script>";
    h += kScript;
    h += "</script>\n</body></html>\n";
    return h;
}

}  // namespace concur_bench
