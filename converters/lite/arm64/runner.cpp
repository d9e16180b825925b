// es_arm_runner: a small command-line program over MindSpore Lite 2.0's public C++ API
// (Model / Context / MSTensor), cross-compiled for aarch64. It runs on a board as it is, and on
// this PC under qemu-user for correctness checks. Data goes in and out as .npy files, so many
// inputs share one process (an emulated process costs seconds to start).
//
//   es_arm_runner system                                   -> JSON: machine, cores, CPU model, glibc
//   es_arm_runner info    MODEL                            -> JSON: inputs and outputs
//   es_arm_runner predict MODEL OUTDIR IN0.npy [IN1.npy…]   -> OUTDIR/out<k>.npy, first axis = samples
//   es_arm_runner predict-list LIST                          -> the same for many models in one process
//   es_arm_runner bench   MODEL [--input X.npy [--expect E0.npy,E1.npy] [--min-cosine C]]
//                         [--threads T] [--warmup W] [--runs N]     -> JSON latency (+ check), exit 1 if off
//   es_arm_runner check   MODEL IN.npy EXPECT0.npy [EXPECT1.npy…] [--min-cosine C]     -> JSON, exit 1 if off
//
// Errors: one line "es_arm_runner: error: …" on stderr, exit 2 (bad use / data) or 3 (Lite refused).
#include <gnu/libc-version.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "include/api/context.h"
#include "include/api/model.h"
#include "include/api/status.h"
#include "include/api/types.h"

using mindspore::MSTensor;

namespace {

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct LiteRefused : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// ---- .npy (format 1.0-3.0, C order, little-endian) -------------------------------------------
struct Npy {
  std::string descr;  // e.g. "<f4"
  std::vector<int64_t> shape;
  std::vector<char> data;
  int64_t count() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
};

std::string header_value(const std::string &header, const std::string &key) {
  auto at = header.find("'" + key + "'");
  if (at == std::string::npos) throw UsageError("npy header has no '" + key + "'");
  at = header.find(':', at) + 1;
  while (at < header.size() && header[at] == ' ') ++at;
  if (header[at] == '\'') return header.substr(at + 1, header.find('\'', at + 1) - at - 1);
  if (header[at] == '(') return header.substr(at + 1, header.find(')', at) - at - 1);
  return header.substr(at, header.find_first_of(",}", at) - at);
}

Npy read_npy(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError("cannot open " + path);
  char magic[8];
  in.read(magic, 8);
  if (!in || std::memcmp(magic, "\x93NUMPY", 6) != 0) throw UsageError(path + " is not a .npy file");
  uint32_t header_len = 0;
  if (magic[6] == 1) {
    unsigned char b[2];
    in.read(reinterpret_cast<char *>(b), 2);
    header_len = b[0] | (b[1] << 8);
  } else {
    unsigned char b[4];
    in.read(reinterpret_cast<char *>(b), 4);
    header_len = b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<uint32_t>(b[3]) << 24);
  }
  std::string header(header_len, '\0');
  in.read(&header[0], header_len);
  Npy npy;
  npy.descr = header_value(header, "descr");
  if (header_value(header, "fortran_order").find("True") != std::string::npos)
    throw UsageError(path + ": Fortran-ordered arrays are not supported");
  std::stringstream dims(header_value(header, "shape"));
  std::string d;
  while (std::getline(dims, d, ','))
    if (d.find_first_of("0123456789") != std::string::npos) npy.shape.push_back(std::stoll(d));
  std::streampos start = in.tellg();
  in.seekg(0, std::ios::end);
  npy.data.resize(static_cast<size_t>(in.tellg() - start));
  in.seekg(start);
  in.read(npy.data.data(), npy.data.size());
  return npy;
}

void write_npy(const std::string &path, const std::string &descr, const std::vector<int64_t> &shape,
               const std::vector<char> &data) {
  std::ostringstream h;
  h << "{'descr': '" << descr << "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < shape.size(); ++i) h << shape[i] << (shape.size() == 1 || i + 1 < shape.size() ? "," : "");
  h << "), }";
  std::string header = h.str();
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string tmp = path + ".part";  // never leave a half-written output under the real name
  {
    std::ofstream out(tmp, std::ios::binary);
    const unsigned char len[2] = {static_cast<unsigned char>(header.size() & 0xff),
                                  static_cast<unsigned char>(header.size() >> 8)};
    out.write("\x93NUMPY\x01\x00", 8);
    out.write(reinterpret_cast<const char *>(len), 2);
    out << header;
    out.write(data.data(), data.size());
    if (!out) throw UsageError("cannot write " + path);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw UsageError("cannot write " + path);
}

// mindspore::DataType <-> numpy descr
const std::map<int, std::string> &descrs() {
  static const std::map<int, std::string> m = {{30, "|b1"}, {32, "|i1"}, {33, "<i2"}, {34, "<i4"},
                                               {35, "<i8"}, {37, "|u1"}, {38, "<u2"}, {42, "<f2"},
                                               {43, "<f4"}, {44, "<f8"}};
  return m;
}

std::string descr_of(const MSTensor &t) {
  auto it = descrs().find(static_cast<int>(t.DataType()));
  if (it == descrs().end()) throw UsageError("tensor " + t.Name() + " has an unmapped data type");
  return it->second;
}

// ---- Lite -------------------------------------------------------------------------------------
std::string json_escape(const std::string &s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += static_cast<unsigned char>(c) < 0x20 ? ' ' : c;
  }
  return out;
}

struct Loaded {
  mindspore::Model model;
  std::vector<MSTensor> inputs, outputs;
  double build_ms = 0;
};

std::unique_ptr<Loaded> load(const std::string &path, int threads) {
  std::ifstream probe(path, std::ios::binary);
  if (!probe) throw UsageError("cannot open model " + path);
  auto context = std::make_shared<mindspore::Context>();
  context->SetThreadNum(threads > 0 ? threads : 1);
  context->MutableDeviceInfo().push_back(std::make_shared<mindspore::CPUDeviceInfo>());
  bool mindir = path.size() > 7 && path.compare(path.size() - 7, 7, ".mindir") == 0;
  auto m = std::make_unique<Loaded>();
  auto start = std::chrono::steady_clock::now();
  auto status = m->model.Build(path, mindir ? mindspore::kMindIR : mindspore::kMindIR_Lite, context);
  m->build_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (status != mindspore::kSuccess) throw LiteRefused("Lite could not load " + path + ": " + status.ToString());
  m->inputs = m->model.GetInputs();
  m->outputs = m->model.GetOutputs();
  for (auto &t : m->inputs)
    for (int64_t d : t.Shape())
      if (d < 0) throw UsageError("input " + t.Name() + " has a dynamic shape; convert with a fixed input shape");
  return m;
}

void predict(Loaded &m) {
  auto status = m.model.Predict(m.inputs, &m.outputs);
  if (status != mindspore::kSuccess) throw LiteRefused("Model::Predict failed: " + status.ToString());
}

void describe(std::ostream &os, const std::vector<MSTensor> &tensors) {
  os << '[';
  for (size_t i = 0; i < tensors.size(); ++i) {
    os << (i ? "," : "") << "{\"name\":\"" << json_escape(tensors[i].Name()) << "\",\"shape\":[";
    auto shape = tensors[i].Shape();
    for (size_t d = 0; d < shape.size(); ++d) os << (d ? "," : "") << shape[d];
    os << "],\"dtype\":\"" << descr_of(tensors[i]) << "\"}";
  }
  os << ']';
}

// Sample i of an (N, ...) batch into input tensor k (checked: same element type and size).
void feed(MSTensor &tensor, const Npy &batch, int64_t i, int64_t n, const std::string &name) {
  if (batch.descr != descr_of(tensor))
    throw UsageError(name + " holds " + batch.descr + ", input " + tensor.Name() + " wants " + descr_of(tensor));
  size_t per = batch.data.size() / static_cast<size_t>(n);
  if (per != tensor.DataSize())
    throw UsageError(name + ": one sample is " + std::to_string(per) + " bytes, input " + tensor.Name() +
                     " wants " + std::to_string(tensor.DataSize()));
  std::memcpy(tensor.MutableData(), batch.data.data() + per * i, per);
}

int64_t samples_of(const Npy &npy, const std::string &name) {
  if (npy.shape.empty() || npy.shape[0] < 1) throw UsageError(name + ": needs a first (sample) axis of size >= 1");
  return npy.shape[0];
}

// ---- commands ---------------------------------------------------------------------------------
std::map<std::string, std::string> options(std::vector<std::string> &args) {
  std::map<std::string, std::string> opts;
  std::vector<std::string> rest;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i].rfind("--", 0) == 0) {
      if (i + 1 >= args.size()) throw UsageError(args[i] + " needs a value");
      opts[args[i].substr(2)] = args[i + 1];
      ++i;
    } else {
      rest.push_back(args[i]);
    }
  }
  args = rest;
  return opts;
}

int int_option(const std::map<std::string, std::string> &o, const std::string &key, int fallback) {
  auto it = o.find(key);
  if (it == o.end()) return fallback;
  try {
    return std::stoi(it->second);
  } catch (...) {
    throw UsageError("--" + key + " needs a whole number");
  }
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, hardware, part;
  while (std::getline(in, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, line.find_last_not_of(" \t", colon - 1) + 1);
    std::string value = line.substr(std::min(line.size(), colon + 2));
    if (key == "model name" || key == "Model") return value;  // x86 / Raspberry Pi
    if (key == "Hardware") hardware = value;
    if (key == "CPU part" && part.empty()) part = value;
  }
  if (!hardware.empty()) return hardware;
  return part.empty() ? "unknown" : "ARM CPU part " + part;
}

int cmd_system() {
  struct utsname u {};
  uname(&u);
  std::cout << "{\"machine\":\"" << json_escape(u.machine) << "\",\"kernel\":\"" << json_escape(u.release)
            << "\",\"cores\":" << sysconf(_SC_NPROCESSORS_ONLN) << ",\"cpu_model\":\"" << json_escape(cpu_model())
            << "\",\"glibc\":\"" << gnu_get_libc_version() << "\",\"lite_version\":\"" << json_escape(mindspore::Version())
            << "\"}\n";
  return 0;
}

int cmd_info(std::vector<std::string> args) {
  if (args.size() != 1) throw UsageError("usage: info MODEL");
  auto m = load(args[0], 1);
  std::cout << "{\"build_ms\":" << m->build_ms << ",\"inputs\":";
  describe(std::cout, m->inputs);
  std::cout << ",\"outputs\":";
  describe(std::cout, m->outputs);
  std::cout << "}\n";
  return 0;
}

// Every sample of the input batches through the model; outputs stacked like the x86 bridge does
// (per-sample outputs concatenated on axis 0).
std::vector<std::vector<char>> run_all(Loaded &m, const std::vector<Npy> &batches,
                                       const std::vector<std::string> &names, int64_t n,
                                       std::vector<std::vector<int64_t>> &shapes) {
  std::vector<std::vector<char>> outs(m.outputs.size());
  for (int64_t i = 0; i < n; ++i) {
    for (size_t k = 0; k < m.inputs.size(); ++k) feed(m.inputs[k], batches[k], i, n, names[k]);
    predict(m);
    for (size_t k = 0; k < m.outputs.size(); ++k) {
      const char *data = static_cast<const char *>(m.outputs[k].MutableData());
      if (!data) throw LiteRefused("output " + m.outputs[k].Name() + " has no data");
      outs[k].insert(outs[k].end(), data, data + m.outputs[k].DataSize());
    }
  }
  shapes.clear();
  for (auto &t : m.outputs) {
    auto s = t.Shape();
    if (s.empty()) s = {n};
    else s[0] *= n;
    shapes.push_back(s);
  }
  return outs;
}

std::vector<Npy> read_batches(const std::vector<std::string> &files, const Loaded &m, int64_t &n) {
  if (files.size() != m.inputs.size())
    throw UsageError("the model has " + std::to_string(m.inputs.size()) + " input(s), got " +
                     std::to_string(files.size()) + " .npy file(s)");
  std::vector<Npy> batches;
  for (auto &f : files) batches.push_back(read_npy(f));
  n = samples_of(batches[0], files[0]);
  for (size_t k = 1; k < batches.size(); ++k)
    if (samples_of(batches[k], files[k]) != n) throw UsageError("all inputs need the same number of samples");
  return batches;
}

// One model over every sample: OUTDIR/out<k>.npy, and one JSON line describing the run.
void predict_one(const std::string &model, const std::string &outdir, const std::vector<std::string> &files,
                 int threads) {
  auto m = load(model, threads);
  int64_t n = 0;
  auto batches = read_batches(files, *m, n);
  std::vector<std::vector<int64_t>> shapes;
  auto start = std::chrono::steady_clock::now();
  auto outs = run_all(*m, batches, files, n, shapes);
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::ostringstream line;
  line.precision(9);
  line << "{\"model\":\"" << json_escape(model) << "\",\"samples\":" << n << ",\"build_ms\":" << m->build_ms
       << ",\"predict_ms\":" << ms << ",\"inputs\":";
  describe(line, m->inputs);
  line << ",\"outputs\":[";
  for (size_t k = 0; k < outs.size(); ++k) {
    std::string name = "out" + std::to_string(k) + ".npy";
    write_npy(outdir + "/" + name, descr_of(m->outputs[k]), shapes[k], outs[k]);
    line << (k ? "," : "") << "\"" << name << "\"";
  }
  line << "]}";
  std::cout << line.str() << std::endl;
}

int cmd_predict(std::vector<std::string> args) {
  auto o = options(args);
  if (args.size() < 3) throw UsageError("usage: predict MODEL OUTDIR IN0.npy [IN1.npy ...] [--threads T]");
  predict_one(args[0], args[1], std::vector<std::string>(args.begin() + 2, args.end()), int_option(o, "threads", 1));
  return 0;
}

// Many models in one process (an emulated start costs seconds). LIST has one line per model,
// "MODEL<TAB>OUTDIR<TAB>IN0.npy[<TAB>IN1.npy…]"; one JSON line per model, {"model","error"} for a
// model that fails (the others still run).
int cmd_predict_list(std::vector<std::string> args) {
  auto o = options(args);
  if (args.size() != 1) throw UsageError("usage: predict-list LIST [--threads T]");
  std::ifstream list(args[0]);
  if (!list) throw UsageError("cannot open " + args[0]);
  int threads = int_option(o, "threads", 1);
  std::string text;
  while (std::getline(list, text)) {
    std::vector<std::string> fields;
    std::stringstream ss(text);
    std::string field;
    while (std::getline(ss, field, '\t')) fields.push_back(field);
    if (fields.size() < 3) continue;
    try {
      predict_one(fields[0], fields[1], std::vector<std::string>(fields.begin() + 2, fields.end()), threads);
    } catch (const std::exception &e) {
      std::cout << "{\"model\":\"" << json_escape(fields[0]) << "\",\"refused\":"
                << (dynamic_cast<const LiteRefused *>(&e) ? "true" : "false") << ",\"error\":\""
                << json_escape(e.what()) << "\"}" << std::endl;
    }
  }
  return 0;
}

std::vector<double> as_doubles(const std::vector<char> &raw, const std::string &descr) {
  std::vector<double> v;
  if (descr == "<f4") {
    const float *p = reinterpret_cast<const float *>(raw.data());
    v.assign(p, p + raw.size() / 4);
  } else if (descr == "|i1") {
    const int8_t *p = reinterpret_cast<const int8_t *>(raw.data());
    v.assign(p, p + raw.size());
  } else if (descr == "|u1") {
    const uint8_t *p = reinterpret_cast<const uint8_t *>(raw.data());
    v.assign(p, p + raw.size());
  } else if (descr == "<i4") {
    const int32_t *p = reinterpret_cast<const int32_t *>(raw.data());
    v.assign(p, p + raw.size() / 4);
  } else {
    throw UsageError("check compares float32/int8/uint8/int32 outputs, not " + descr);
  }
  return v;
}

// Outputs for the sample input against the expected ones: cosine and max |delta| per output.
bool compare_outputs(const Loaded &m, const std::vector<std::vector<char>> &outs,
                     const std::vector<std::string> &expect_files, double min_cos, std::ostream &json) {
  if (expect_files.size() != m.outputs.size())
    throw UsageError("the model has " + std::to_string(m.outputs.size()) + " output(s), got " +
                     std::to_string(expect_files.size()) + " expected file(s)");
  bool ok = true;
  std::ostringstream cos_json, diff_json;
  for (size_t k = 0; k < outs.size(); ++k) {
    Npy expect = read_npy(expect_files[k]);
    auto got = as_doubles(outs[k], descr_of(m.outputs[k]));
    auto want = as_doubles(expect.data, expect.descr);
    if (got.size() != want.size()) throw UsageError(expect_files[k] + " does not match output " + std::to_string(k) + "'s size");
    double dot = 0, na = 0, nb = 0, diff = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      dot += got[i] * want[i];
      na += got[i] * got[i];
      nb += want[i] * want[i];
      diff = std::max(diff, std::fabs(got[i] - want[i]));
    }
    double cos = (na == 0 && nb == 0) ? 1.0 : dot / (std::sqrt(na) * std::sqrt(nb) + 1e-30);
    ok = ok && cos >= min_cos;
    cos_json << (k ? "," : "") << cos;
    diff_json << (k ? "," : "") << diff;
  }
  json << "{\"ok\":" << (ok ? "true" : "false") << ",\"min_cosine\":" << min_cos << ",\"cosine\":["
       << cos_json.str() << "],\"max_abs_diff\":[" << diff_json.str() << "]}";
  return ok;
}

std::vector<std::string> split_list(const std::string &text) {
  std::vector<std::string> items;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) items.push_back(item);
  return items;
}

double cosine_option(const std::map<std::string, std::string> &o) {
  auto it = o.find("min-cosine");
  try {
    return it == o.end() ? 0.99 : std::stod(it->second);
  } catch (...) {
    throw UsageError("--min-cosine needs a number");
  }
}

double percentile(std::vector<double> sorted, double q) {
  double pos = q * (sorted.size() - 1);
  size_t lo = static_cast<size_t>(pos);
  size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

int cmd_bench(std::vector<std::string> args) {
  auto o = options(args);
  if (args.size() != 1) throw UsageError("usage: bench MODEL [--input X.npy [--expect E0.npy,...]] [--threads T] [--warmup W] [--runs N]");
  int threads = int_option(o, "threads", 1), warmup = int_option(o, "warmup", 10), runs = int_option(o, "runs", 100);
  if (runs < 1 || warmup < 0) throw UsageError("--runs must be >= 1 and --warmup >= 0");
  auto m = load(args[0], threads);
  std::string check_json;
  bool ok = true;
  if (o.count("input")) {
    int64_t n = 0;
    auto batches = read_batches({o["input"]}, *m, n);
    if (o.count("expect")) {  // one process both checks and times: an emulated start costs seconds
      std::vector<std::vector<int64_t>> shapes;
      auto outs = run_all(*m, batches, {o["input"]}, n, shapes);
      std::ostringstream json;
      ok = compare_outputs(*m, outs, split_list(o["expect"]), cosine_option(o), json);
      check_json = json.str();
    }
    feed(m->inputs[0], batches[0], 0, n, o["input"]);
  } else {
    for (auto &t : m->inputs) std::memset(t.MutableData(), 0, t.DataSize());  // timing only needs a valid input
  }
  for (int i = 0; i < warmup; ++i) predict(*m);
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    auto start = std::chrono::steady_clock::now();
    predict(*m);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(ms.begin(), ms.end());
  double sum = 0;
  for (double v : ms) sum += v;
  std::cout << "{\"model\":\"" << json_escape(args[0]) << "\",\"threads\":" << threads << ",\"warmup\":" << warmup
            << ",\"runs\":" << runs << ",\"build_ms\":" << m->build_ms << ",\"mean_ms\":" << sum / runs
            << ",\"min_ms\":" << ms.front() << ",\"p50_ms\":" << percentile(ms, 0.5)
            << ",\"p90_ms\":" << percentile(ms, 0.9) << ",\"p99_ms\":" << percentile(ms, 0.99)
            << ",\"max_ms\":" << ms.back();
  if (!check_json.empty()) std::cout << ",\"check\":" << check_json;
  std::cout << "}\n";
  return ok ? 0 : 1;
}

// The model's outputs for IN.npy against the expected ones (the board checks what emulation saw).
int cmd_check(std::vector<std::string> args) {
  auto o = options(args);
  if (args.size() < 3) throw UsageError("usage: check MODEL IN.npy EXPECT0.npy [EXPECT1.npy ...] [--min-cosine C]");
  auto m = load(args[0], int_option(o, "threads", 1));
  int64_t n = 0;
  auto batches = read_batches({args[1]}, *m, n);
  std::vector<std::vector<int64_t>> shapes;
  auto outs = run_all(*m, batches, {args[1]}, n, shapes);
  std::ostringstream json;
  bool ok = compare_outputs(*m, outs, std::vector<std::string>(args.begin() + 2, args.end()), cosine_option(o), json);
  std::cout << "{\"model\":\"" << json_escape(args[0]) << "\",\"check\":" << json.str() << "}\n";
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char **argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::cout.precision(9);
  try {
    if (args.empty()) throw UsageError("usage: es_arm_runner system|info|predict|predict-list|bench|check ...");
    std::string cmd = args[0];
    args.erase(args.begin());
    if (cmd == "system") return cmd_system();
    if (cmd == "info") return cmd_info(args);
    if (cmd == "predict") return cmd_predict(args);
    if (cmd == "predict-list") return cmd_predict_list(args);
    if (cmd == "bench") return cmd_bench(args);
    if (cmd == "check") return cmd_check(args);
    throw UsageError("unknown command " + cmd + " (system, info, predict, predict-list, bench, check)");
  } catch (const LiteRefused &e) {
    std::cerr << "es_arm_runner: error: " << e.what() << std::endl;
    return 3;
  } catch (const std::exception &e) {  // Lite can throw from inside Build/Predict on bad files too
    std::cerr << "es_arm_runner: error: " << e.what() << std::endl;
    return 2;
  }
}
