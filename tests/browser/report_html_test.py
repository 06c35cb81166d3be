"""Opens report.html of the bundled example in headless Chromium and checks it as a person would.

Builds the page the way `make demo` does (examples/export_example.py, then `qreport analyze
--out`), drives Chromium through chromedriver's W3C WebDriver HTTP API with the standard
library only, and checks: no console errors, nothing loaded from outside the file, a table row
per module of report.json, sorting, filtering, the summary's shortcuts, and plots drawn when a
module is opened. Screenshots go to OUT/report_html*.png.

    /usr/bin/python3 report_html_test.py --qreport build/qreport --python /usr/bin/python3 \
        --example examples/export_example.py --out build/browser

Exit codes: 0 passed, 1 failed, 77 skipped (Chromium or chromedriver is not installed).
"""
import argparse
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

SKIP = 77
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1300,1500",
]


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


class WebDriver:
    """The few W3C WebDriver commands the test needs, over plain HTTP."""

    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"
        self.session = None

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read() or b"{}").get("value")
        except urllib.error.HTTPError as e:
            raise Failure(f"WebDriver {method} {path}: {e.code} {e.read().decode()[:500]}")

    def session_call(self, method, path, body=None):
        return self.call(method, f"/session/{self.session}{path}", body)

    def start(self, chromium, profile):
        capabilities = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium,
                                   "args": CHROMIUM_FLAGS + [f"--user-data-dir={profile}"]},
            "goog:loggingPrefs": {"browser": "ALL"},
        }}}
        self.session = self.call("POST", "/session", capabilities)["sessionId"]

    def script(self, source, *args):
        return self.session_call("POST", "/execute/sync", {"script": source, "args": list(args)})

    def find(self, css):
        found = self.session_call("POST", "/element", {"using": "css selector", "value": css})
        return next(iter(found.values()))

    def click(self, css):
        self.session_call("POST", f"/element/{self.find(css)}/click", {})

    def type(self, css, text):
        element = self.find(css)
        self.session_call("POST", f"/element/{element}/clear", {})
        self.session_call("POST", f"/element/{element}/value", {"text": text})

    def browser_log(self):
        # Chromium-specific: the console and uncaught errors since the last call.
        return self.session_call("POST", "/se/log", {"type": "browser"}) or []

    def screenshot(self, path):
        with open(path, "wb") as out:
            out.write(base64.b64decode(self.session_call("GET", "/screenshot")))

    def stop(self):
        if self.session:
            try:
                self.call("DELETE", f"/session/{self.session}")
            except (Failure, OSError):
                pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_ready(driver, process):
    for _ in range(100):
        if process.poll() is not None:
            raise Failure(f"chromedriver exited with {process.returncode}")
        try:
            if driver.call("GET", "/status").get("ready"):
                return
        except (OSError, Failure):
            pass
        time.sleep(0.1)
    raise Failure("chromedriver did not start within 10 s")


def build_report(args):
    os.makedirs(args.out, exist_ok=True)
    subprocess.run([args.python, args.example, args.out], check=True, stdout=subprocess.DEVNULL)
    report_dir = os.path.join(args.out, "report")
    subprocess.run([args.qreport, "analyze", os.path.join(args.out, "small_cnn.pt"), "-q",
                    "--input-shape", "8,3,32,32", "--batches", "16", "--out", report_dir],
                   check=True, stdout=subprocess.DEVNULL)
    return report_dir


def modules_of(report):
    """Every module any detector reported on (the page has one row per module)."""
    modules = []
    for key, value in report.items():
        if isinstance(value, dict) and key != "not_observed":
            modules += [fqn for fqn in value if fqn not in modules]
    return modules


def errors_in(log):
    return [entry["message"] for entry in log if entry.get("level") == "SEVERE"]


def rows(driver):
    return driver.script(
        "return [...document.querySelectorAll('#layers tbody tr.layer')]"
        ".map(tr => tr.cells[1].textContent.replace(/ !$/, ''));")


def run_checks(driver, report_dir):
    report = json.load(open(os.path.join(report_dir, "report.json")))
    modules = modules_of(report)
    page = os.path.abspath(os.path.join(report_dir, "report.html"))
    driver.session_call("POST", "/url", {"url": "file://" + page})

    errors = errors_in(driver.browser_log())
    check(not errors, f"console errors on load: {errors}")
    check(driver.script("return document.getElementById('qreport-data') !== null"), "no data")
    external = driver.script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
        ".concat([...document.querySelectorAll('[src],[href]')].map(e => e.src || e.href));")
    check(not external, f"the page loads external resources: {external}")

    # A row per module, in the model's order: each detector's modules in its order.
    shown = rows(driver)
    check(sorted(shown) == sorted(modules), f"table rows {shown} != modules {modules}")
    for detector, findings in report.items():
        if isinstance(findings, dict) and detector != "not_observed":
            order = [m for m in shown if m in findings]
            check(order == list(findings), f"rows out of {detector}'s order: {order}")
    modules = shown
    # Modules left out on purpose (folded BatchNorms) are named in the header, not dropped.
    meta = driver.script("return document.getElementById('meta').textContent")
    for detector, left_out in report.get("not_observed", {}).items():
        first = next(iter(left_out))
        check(f"{detector} did not observe {len(left_out)}: {first} (" in meta,
              f"the header does not name what {detector} left out: {meta!r}")
    summary = driver.script("return document.getElementById('summary').textContent")
    check("switch to per-channel" in summary, f"summary without weight advice: {summary!r}")

    # Sorting: by module name (as the browser collates), then a numeric column both ways.
    driver.click("th[data-column='fqn']")
    want = driver.script("return arguments[0].slice().sort((a, b) => a.localeCompare(b))", modules)
    check(rows(driver) == want, f"sorted by module: {rows(driver)} != {want}")
    check(driver.script("return document.querySelector(\"th[data-column='fqn']\")"
                        ".getAttribute('aria-sort')") == "ascending", "no ascending mark")
    ratio = ("return [...document.querySelectorAll('#layers tbody tr.layer')]"
             ".map(tr => tr.cells[5].textContent).filter(t => t !== '-').map(Number);")
    driver.click("th[data-column='ratio']")
    up = driver.script(ratio)
    check(len(up) > 0 and up == sorted(up), f"ratios not ascending: {up}")
    driver.click("th[data-column='ratio']")
    down = driver.script(ratio)
    check(down == sorted(up, reverse=True), f"ratios not descending: {down}")
    driver.click("th[data-column='index']")
    check(rows(driver) == modules, "sorting by # does not restore the model's order")

    # Filtering by text, by the layers-only switch, and from the summary.
    driver.type("#filter", "head.")
    want = [m for m in modules if "head." in m]
    check(rows(driver) == want, f"filter 'head.': {rows(driver)} != {want}")
    driver.type("#filter", "zzz-no-such-module")
    check(rows(driver) == [], "a filter matching nothing still shows rows")
    driver.type("#filter", "")
    driver.click("#layers-only")
    layers = list(report.get("per_channel_detector", {}))
    check(rows(driver) == layers, f"layers only: {rows(driver)} != {layers}")
    driver.click("#layers-only")
    driver.click("#summary button[data-column='outliers'][data-text='outliers']")
    with_outliers = [m for m in modules
                     if any(report["outlier_detector"].get(m, {}).get("outliers_detected", []))]
    check(rows(driver) == with_outliers, f"summary 'outliers': {rows(driver)} != {with_outliers}")
    driver.click("#chip button")
    check(rows(driver) == modules, "clearing the summary filter does not show every module")
    driver.screenshot(os.path.join(os.path.dirname(report_dir), "report_html.png"))

    # Opening a layer draws its plots.
    layer = layers[1] if len(layers) > 1 else layers[0]
    driver.script("window.scrollTo(0, 0)")
    driver.click(f"#layers tbody tr.layer:nth-child({modules.index(layer) + 1})")
    plots = driver.script(
        "return [...document.querySelectorAll('#layers tr.detail svg.plot')].map(svg => "
        "({name: svg.dataset.plot, marks: [...svg.querySelectorAll('path, rect, circle')]"
        ".filter(e => e.tagName !== 'path' || e.getAttribute('d')).length,"
        " width: svg.getBoundingClientRect().width}));")
    names = [p["name"] for p in plots]
    for name in ("input-range", "weight-range", "outlier-ratios", "batch-epoch"):
        check(name in names, f"no {name} plot for {layer}: {names}")
    check(all(p["marks"] > 0 and p["width"] > 100 for p in plots), f"empty plots: {plots}")
    findings = driver.script(
        "return document.querySelector('#layers tr.detail .findings').textContent")
    check("per-channel" in findings, f"no findings text for {layer}: {findings!r}")
    driver.script("document.querySelector('#layers tr.layer.open').scrollIntoView();"
                  "window.scrollBy(0, -40);")
    driver.screenshot(os.path.join(os.path.dirname(report_dir), "report_html_layer.png"))

    errors = errors_in(driver.browser_log())
    check(not errors, f"console errors while using the page: {errors}")
    return len(modules), names


# Modules the detectors could not judge, non-finite and missing numbers, no channels: every
# module of this report must open without a console error.
EDGE_REPORT = {
    "schema_version": 1, "model": "edge <cases>.pt", "batches": 1,
    "per_channel_detector": {
        "fc": {"per_channel_quantization_supported": False, "per_channel_quantization_used": False,
               "backend": "qnnpack", "configuration_source": "default_qconfig"}},
    "dynamic_vs_static_detector": {
        "fc": {"dynamic_static_tolerance": 0.5, "dynamic_recommended": False,
               "input_activation_dynamic_static_comp_stat": None,
               "input_activation_dynamic_static_data_classification": None,
               "output_activation_dynamic_static_comp_stat": None,
               "output_activation_dynamic_static_data_classification": None,
               "is_dynamic_supported": True, "problem": "fc was never called"}},
    "input_weight_equalization_detector": {
        "fc": {"input_weight_equalization_recommended": [False, False],
               "input_weight_channel_comparison_metrics": ["nan", "inf"],
               "input_weight_threshold": 0.5, "input_weight_channel_axis": 1,
               "input_activation_per_channel_max": [0, 0],
               "input_activation_per_channel_min": [0, 0],
               "input_activation_global_max": 0, "input_activation_global_min": 0,
               "weight_per_channel_max": ["inf", 1], "weight_per_channel_min": ["-inf", -1],
               "weight_global_max": 1, "weight_global_min": -1,
               "module_equalization_recommended": False, "problem": "the input of fc is constant"}},
    "outlier_detector": {
        "fc": {"outlier_detection_channel_axis": 1, "outlier_detection_reference_percentile": 0.975,
               "outlier_detection_ratio_threshold": 3.5,
               "outlier_detection_percentile_ratios": ["inf", "nan", 2],
               "outlier_detection_batches_used": [1, 0, 1],
               "outliers_detected": [True, False, False],
               "outlier_detection_is_sufficient_batches": [False, False, True],
               "constant_batch_counts": [0, 1, 0], "input_activation_per_channel_max": [0, 0, 5],
               "dead_channels": [False, True, False], "module_type": "torch.nn.Linear",
               "outlier_detection_total_batches": 1},
        "<script>": {"outlier_detection_channel_axis": 1, "outlier_detection_ratio_threshold": None,
                     "outlier_detection_percentile_ratios": [], "outliers_detected": [],
                     "dead_channels": [], "module_type": "", "problem": "no input"}},
}


def check_edge_cases(driver, args):
    path = os.path.join(args.out, "edge", "report.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    json.dump(EDGE_REPORT, open(path, "w"))
    page = os.path.join(os.path.dirname(path), "report.html")
    subprocess.run([args.qreport, "view", path, "--out", page], check=True,
                   stdout=subprocess.DEVNULL)
    driver.session_call("POST", "/url", {"url": "file://" + os.path.abspath(page)})
    check(rows(driver) == ["fc", "<script>"], f"edge-case rows: {rows(driver)}")
    for index in (1, 2):
        driver.click(f"#layers tbody tr.layer[data-index='{index - 1}']")
    text = driver.script("return document.getElementById('layers').textContent")
    check("fc was never called" in text and "no input" in text, "problems are not shown")
    errors = errors_in(driver.browser_log())
    check(not errors, f"console errors on the edge-case report: {errors}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qreport", required=True)
    parser.add_argument("--python", required=True)
    parser.add_argument("--example", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    args = parser.parse_args()
    for tool in (args.chromium, args.chromedriver):
        if not os.access(tool, os.X_OK):
            print(f"SKIP: {tool} is not installed (scripts/install-deps installs it)")
            return SKIP

    report_dir = build_report(args)
    profile = tempfile.mkdtemp(prefix="qreport-chromium-")
    port = free_port()
    process = subprocess.Popen([args.chromedriver, f"--port={port}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    driver = WebDriver(port)
    try:
        wait_until_ready(driver, process)
        driver.start(args.chromium, profile)
        driver.session_call("POST", "/window/rect", {"width": 1300, "height": 1500})
        count, plots = run_checks(driver, report_dir)
        check_edge_cases(driver, args)
        print(f"report.html: {count} module rows, sorting and filtering work, plots {plots}; "
              f"screenshots in {args.out}")
        return 0
    except Failure as e:
        print(f"FAILED: {e}")
        return 1
    finally:
        driver.stop()
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
