// extern "C" shim over MindSpore Lite 2.0's converter (libmindspore_converter.so).
// The wheel ships no converter header, so the class is declared here from the
// exported symbols; its only data member is a shared_ptr to its parameters.
#include <map>
#include <memory>
#include <sstream>
#include <vector>

#include "include/api/status.h"
#include "include/api/types.h"
#include "include/registry/converter_context.h"
#include "shim_common.h"

namespace mindspore {
class Converter {
 public:
  Converter(converter::FmkType fmk, const std::vector<char> &model, const std::vector<char> &output,
            const std::vector<char> &weight);
  void SetConfigFile(const std::vector<char> &path);
  void SetSaveType(ModelType type);
  void SetInputFormat(Format format);
  void SetInputShape(const std::map<std::vector<char>, std::vector<int64_t>> &shapes);
  void SetWeightFp16(bool on);
  void SetNoFusion(bool on);
  Status Convert();

 private:
  std::shared_ptr<void> params_;
};
}  // namespace mindspore

static std::vector<char> chars(const char *s) { return std::vector<char>(s, s + std::strlen(s)); }

// shapes: "name:1,3,28,28;other:1,10" (empty for none). input_format < 0 keeps Lite's default.
// Returns 0 on success; otherwise the Lite status code (or -1) with es_last_error set.
ES_EXPORT int es_convert(int fmk, const char *model, const char *weight, const char *output, int save_type,
                         int input_format, const char *shapes, int fp16_weights, const char *config_file,
                         int no_fusion) {
  return es::guarded(-1, [&]() -> int {
    mindspore::Converter conv(static_cast<mindspore::converter::FmkType>(fmk), chars(model), chars(output),
                              chars(weight));
    conv.SetSaveType(static_cast<mindspore::ModelType>(save_type));
    if (input_format >= 0) conv.SetInputFormat(static_cast<mindspore::Format>(input_format));
    std::map<std::vector<char>, std::vector<int64_t>> shape_map;
    std::stringstream all(shapes);
    std::string item;
    while (std::getline(all, item, ';')) {
      auto colon = item.rfind(':');
      if (colon == std::string::npos) continue;
      std::vector<int64_t> dims;
      std::stringstream ds(item.substr(colon + 1));
      std::string d;
      while (std::getline(ds, d, ',')) dims.push_back(std::stoll(d));
      std::string name = item.substr(0, colon);
      shape_map[std::vector<char>(name.begin(), name.end())] = dims;
    }
    if (!shape_map.empty()) conv.SetInputShape(shape_map);
    conv.SetWeightFp16(fp16_weights != 0);
    if (no_fusion) conv.SetNoFusion(true);
    if (config_file && *config_file) conv.SetConfigFile(chars(config_file));
    mindspore::Status st = conv.Convert();
    if (st != mindspore::kSuccess) {
      es::set_error(st.ToString());
      int code = static_cast<int>(st.StatusCode());
      return code == 0 ? -1 : code;
    }
    return 0;
  });
}
