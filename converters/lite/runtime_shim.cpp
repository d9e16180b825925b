// extern "C" shim over the MindSpore Lite 2.0 runtime (libmindspore-extendrt_python.so),
// loaded with ctypes. Input buffers are bound, not copied; outputs are copied once
// into caller-owned buffers. Per-op timing uses Lite's kernel before/after callbacks.
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <sstream>
#include <vector>

#include "include/api/context.h"
#include "include/api/model.h"
#include "include/api/status.h"
#include "include/api/types.h"
#include "shim_common.h"

using mindspore::MSTensor;
using Clock = std::chrono::steady_clock;

struct EsModel {
  mindspore::Model model;
  std::vector<MSTensor> inputs;
  std::vector<MSTensor> outputs;
  std::vector<void *> bound;  // caller buffers now set as input data (SetData only on change)
  std::string info;     // JSON description of inputs/outputs, refreshed after resize
  std::string profile;  // JSON result of the last es_model_profile
  std::string trace;    // JSON index of the last es_model_trace
  std::vector<char> trace_data;  // the tensors it copied, at the offsets the index names
};

static std::string json_escape(const std::string &s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

static void describe(std::ostringstream &os, const std::vector<MSTensor> &tensors) {
  os << '[';
  for (size_t i = 0; i < tensors.size(); ++i) {
    const MSTensor &t = tensors[i];
    os << (i ? "," : "") << "{\"name\":\"" << json_escape(t.Name()) << "\",\"shape\":[";
    const auto &shape = t.Shape();
    for (size_t d = 0; d < shape.size(); ++d) os << (d ? "," : "") << shape[d];
    os << "],\"dtype\":" << static_cast<int>(t.DataType()) << ",\"format\":" << static_cast<int>(t.format())
       << ",\"nbytes\":" << t.DataSize() << '}';
  }
  os << ']';
}

static void describe_model(EsModel *m) {
  std::ostringstream os;
  os << "{\"inputs\":";
  describe(os, m->inputs);
  os << ",\"outputs\":";
  describe(os, m->outputs);
  os << '}';
  m->info = os.str();
}

static void refresh(EsModel *m) {
  m->inputs = m->model.GetInputs();
  m->bound.assign(m->inputs.size(), nullptr);
  m->outputs = m->model.GetOutputs();
  describe_model(m);
}

static bool check(const mindspore::Status &st, const char *what) {
  if (st == mindspore::kSuccess) return true;
  es::set_error(std::string(what) + ": " + st.ToString());
  return false;
}

ES_EXPORT const char *es_version() {
  static std::string v = mindspore::Version();
  return v.c_str();
}

// model_type: 0 = MINDIR, 4 = MINDIR_LITE (.ms). cores: "0,1" pins threads, empty for none.
// affinity: 0 none, 1 big cores first, 2 little cores first.
ES_EXPORT void *es_model_load(const char *path, int model_type, int threads, int affinity, const char *cores) {
  return es::guarded<void *>(nullptr, [&]() -> void * {
    auto context = std::make_shared<mindspore::Context>();
    context->SetThreadNum(threads > 0 ? threads : 1);
    std::vector<int> core_list;
    std::stringstream cs(cores ? cores : "");
    std::string c;
    while (std::getline(cs, c, ',')) core_list.push_back(std::stoi(c));
    if (!core_list.empty()) {
      context->SetThreadAffinity(core_list);
    } else if (affinity > 0) {
      context->SetThreadAffinity(affinity);
    }
    context->MutableDeviceInfo().push_back(std::make_shared<mindspore::CPUDeviceInfo>());
    auto m = std::make_unique<EsModel>();
    if (!check(m->model.Build(std::string(path), static_cast<mindspore::ModelType>(model_type), context),
               "Model::Build"))
      return nullptr;
    refresh(m.get());
    if (m->inputs.empty()) {
      es::set_error("model has no inputs");
      return nullptr;
    }
    return m.release();
  });
}

ES_EXPORT void es_model_free(void *handle) {
  es::guarded(0, [&]() {
    delete static_cast<EsModel *>(handle);
    return 0;
  });
}

ES_EXPORT const char *es_model_info(void *handle) { return static_cast<EsModel *>(handle)->info.c_str(); }

// shapes: one "d0,d1,..." per input, separated by ';', in input order.
ES_EXPORT int es_model_resize(void *handle, const char *shapes) {
  return es::guarded(-1, [&]() -> int {
    auto *m = static_cast<EsModel *>(handle);
    std::vector<std::vector<int64_t>> dims;
    std::stringstream all(shapes);
    std::string item;
    while (std::getline(all, item, ';')) {
      std::vector<int64_t> shape;
      std::stringstream ds(item);
      std::string d;
      while (std::getline(ds, d, ',')) shape.push_back(std::stoll(d));
      dims.push_back(shape);
    }
    if (dims.size() != m->inputs.size()) {
      es::set_error("resize needs one shape per input");
      return -1;
    }
    if (!check(m->model.Resize(m->inputs, dims), "Model::Resize")) return -1;
    refresh(m);
    return 0;
  });
}

static int run_once(EsModel *m, const mindspore::MSKernelCallBack &before = nullptr,
                    const mindspore::MSKernelCallBack &after = nullptr) {
  if (!check(m->model.Predict(m->inputs, &m->outputs, before, after), "Model::Predict")) return -1;
  return 0;
}

// Binds caller buffers as input data (no copy), predicts, copies outputs into out_ptrs.
static int predict_call(EsModel *m, void **in_ptrs, const size_t *in_sizes, void **out_ptrs,
                        const size_t *out_sizes) {
  for (size_t i = 0; i < m->inputs.size(); ++i) {
    if (in_sizes[i] != m->inputs[i].DataSize()) {
      es::set_error("input " + std::to_string(i) + " has " + std::to_string(in_sizes[i]) + " bytes, model wants " +
                    std::to_string(m->inputs[i].DataSize()));
      return -1;
    }
    if (m->bound[i] != in_ptrs[i]) {
      m->inputs[i].SetData(in_ptrs[i], false);
      m->bound[i] = in_ptrs[i];
    }
  }
  if (run_once(m) != 0) return -1;
  for (size_t i = 0; i < m->outputs.size(); ++i) {
    size_t n = m->outputs[i].DataSize();
    if (n != out_sizes[i]) {
      // Lite 2.0 learns output shapes after a resize only by running: describe what it returned.
      describe_model(m);
      es::set_error("output " + std::to_string(i) + " size changed; refresh the model info");
      return -2;
    }
    const void *data = m->outputs[i].MutableData();
    if (!data) {
      es::set_error("output " + std::to_string(i) + " has no data");
      return -1;
    }
    std::memcpy(out_ptrs[i], data, n);
  }
  return 0;
}

ES_EXPORT int es_model_predict(void *handle, void **in_ptrs, const size_t *in_sizes, void **out_ptrs,
                               const size_t *out_sizes) {
  return es::guarded(-1, [&]() { return predict_call(static_cast<EsModel *>(handle), in_ptrs, in_sizes, out_ptrs,
                                                     out_sizes); });
}

// The whole es_model_predict path in a C++ loop: what the shim costs without Python.
ES_EXPORT int es_model_time_call(void *handle, int iterations, void **in_ptrs, const size_t *in_sizes,
                                 void **out_ptrs, const size_t *out_sizes, double *seconds) {
  return es::guarded(-1, [&]() -> int {
    auto *m = static_cast<EsModel *>(handle);
    auto start = Clock::now();
    for (int i = 0; i < iterations; ++i)
      if (predict_call(m, in_ptrs, in_sizes, out_ptrs, out_sizes) != 0) return -1;
    *seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return 0;
  });
}

// Bare C++ Predict loop on the inputs bound by the last es_model_predict:
// the reference for measuring what the Python bridge adds per call.
ES_EXPORT int es_model_time_predict(void *handle, int iterations, double *seconds) {
  return es::guarded(-1, [&]() -> int {
    auto *m = static_cast<EsModel *>(handle);
    auto start = Clock::now();
    for (int i = 0; i < iterations; ++i)
      if (run_once(m) != 0) return -1;
    *seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return 0;
  });
}

// Runs `runs` predictions with kernel callbacks; returns JSON
// {"ops":[{"name","type","ms"(total),"calls"}...],"wall_ms":total} in execution order.
ES_EXPORT const char *es_model_profile(void *handle, int runs) {
  return es::guarded<const char *>(nullptr, [&]() -> const char * {
    auto *m = static_cast<EsModel *>(handle);
    struct OpStat {
      std::string type;
      double ms = 0;
      long calls = 0;
    };
    std::vector<std::string> order;
    std::map<std::string, OpStat> stats;
    std::map<std::string, Clock::time_point> started;
    mindspore::MSKernelCallBack before = [&](const std::vector<MSTensor> &, const std::vector<MSTensor> &,
                                             const mindspore::MSCallBackParam &p) {
      started[p.node_name] = Clock::now();
      return true;
    };
    mindspore::MSKernelCallBack after = [&](const std::vector<MSTensor> &, const std::vector<MSTensor> &,
                                            const mindspore::MSCallBackParam &p) {
      auto end = Clock::now();
      auto it = stats.find(p.node_name);
      if (it == stats.end()) {
        order.push_back(p.node_name);
        it = stats.emplace(p.node_name, OpStat{p.node_type}).first;
      }
      it->second.ms += std::chrono::duration<double, std::milli>(end - started[p.node_name]).count();
      it->second.calls += 1;
      return true;
    };
    auto start = Clock::now();
    for (int i = 0; i < runs; ++i)
      if (run_once(m, before, after) != 0) return nullptr;
    double wall = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    std::ostringstream os;
    os << "{\"runs\":" << runs << ",\"wall_ms\":" << wall << ",\"ops\":[";
    for (size_t i = 0; i < order.size(); ++i) {
      const OpStat &s = stats[order[i]];
      os << (i ? "," : "") << "{\"name\":\"" << json_escape(order[i]) << "\",\"type\":\"" << json_escape(s.type)
         << "\",\"ms\":" << s.ms << ",\"calls\":" << s.calls << '}';
    }
    os << "]}";
    m->profile = os.str();
    return m->profile.c_str();
  });
}

static const void *tensor_bytes(const MSTensor &t) {
  // Data(), not MutableData(): MutableData() allocates a tensor that has no buffer yet.
  auto data = t.Data();
  return t.DataSize() ? data.get() : nullptr;
}

static void describe_traced(std::ostringstream &os, const MSTensor &t, long offset) {
  os << "{\"name\":\"" << json_escape(t.Name()) << "\",\"shape\":[";
  const auto &shape = t.Shape();
  for (size_t d = 0; d < shape.size(); ++d) os << (d ? "," : "") << shape[d];
  os << "],\"dtype\":" << static_cast<int>(t.DataType()) << ",\"format\":" << static_cast<int>(t.format())
     << ",\"offset\":" << offset << ",\"nbytes\":" << (offset < 0 ? 0 : t.DataSize());
  auto quant = t.QuantParams();
  if (!quant.empty()) os << ",\"scale\":" << quant[0].scale << ",\"zero_point\":" << quant[0].zero_point;
  os << '}';
}

// One prediction on the inputs bound by the last es_model_predict, with kernel callbacks that
// copy every node's outputs (so a later in-place write cannot change what was recorded) and
// notice a node that changed one of its own inputs while it ran. Returns the JSON index
// {"nodes":[{"name","type","inputs":[names],"changed_inputs":[names],"outputs":[{name,shape,dtype,
// format,offset,nbytes[,scale,zero_point]}]}]} in execution order; es_model_trace_data gives the bytes.
ES_EXPORT const char *es_model_trace(void *handle) {
  return es::guarded<const char *>(nullptr, [&]() -> const char * {
    auto *m = static_cast<EsModel *>(handle);
    m->trace_data.clear();
    std::vector<std::vector<char>> before_inputs;  // the current node's inputs as they were before it ran
    std::ostringstream os;
    os << "{\"nodes\":[";
    bool first = true;
    mindspore::MSKernelCallBack before = [&](const std::vector<MSTensor> &inputs, const std::vector<MSTensor> &,
                                             const mindspore::MSCallBackParam &) {
      before_inputs.assign(inputs.size(), {});
      for (size_t i = 0; i < inputs.size(); ++i) {
        const char *data = static_cast<const char *>(tensor_bytes(inputs[i]));
        if (data) before_inputs[i].assign(data, data + inputs[i].DataSize());
      }
      return true;
    };
    mindspore::MSKernelCallBack after = [&](const std::vector<MSTensor> &inputs, const std::vector<MSTensor> &outputs,
                                            const mindspore::MSCallBackParam &p) {
      os << (first ? "" : ",") << "{\"name\":\"" << json_escape(p.node_name) << "\",\"type\":\""
         << json_escape(p.node_type) << "\",\"inputs\":[";
      first = false;
      for (size_t i = 0; i < inputs.size(); ++i) os << (i ? "," : "") << '"' << json_escape(inputs[i].Name()) << '"';
      os << "],\"changed_inputs\":[";
      bool any = false;
      for (size_t i = 0; i < inputs.size() && i < before_inputs.size(); ++i) {
        const void *now = tensor_bytes(inputs[i]);
        const auto &was = before_inputs[i];
        if (now && was.size() == inputs[i].DataSize() && std::memcmp(now, was.data(), was.size()) != 0) {
          os << (any ? "," : "") << '"' << json_escape(inputs[i].Name()) << '"';
          any = true;
        }
      }
      os << "],\"outputs\":[";
      for (size_t i = 0; i < outputs.size(); ++i) {
        const char *data = static_cast<const char *>(tensor_bytes(outputs[i]));
        long offset = -1;
        if (data) {
          offset = static_cast<long>(m->trace_data.size());
          m->trace_data.insert(m->trace_data.end(), data, data + outputs[i].DataSize());
        }
        os << (i ? "," : "");
        describe_traced(os, outputs[i], offset);
      }
      os << "]}";
      return true;
    };
    if (run_once(m, before, after) != 0) return nullptr;
    os << "]}";
    m->trace = os.str();
    return m->trace.c_str();
  });
}

ES_EXPORT const void *es_model_trace_data(void *handle, size_t *size) {
  auto *m = static_cast<EsModel *>(handle);
  *size = m->trace_data.size();
  return m->trace_data.data();
}
