#include "core/detection_output_params.h"

#include <string>
#include <vector>

namespace trtn {

Status read_detection_output_params(const OpInit& init, DetectionOutputParams* out) {
  TRTN_TRY(init.expect_float(3, 1));
  DetectionOutputParams p;
  bool share = true;
  double nms = 0, eta = 1, conf = 0;
  std::string code;
  TRTN_TRY(init.attr_int("numClasses", &p.num_classes));
  TRTN_TRY(init.attr_bool("shareLocation", &share));
  TRTN_TRY(init.attr_int("backgroundLabelId", &p.background));
  TRTN_TRY(init.attr_double("nmsThreshold", &nms));
  TRTN_TRY(init.attr_double("eta", &eta));
  TRTN_TRY(init.attr_int("topK", &p.top_k));
  TRTN_TRY(init.attr_int("keepTopK", &p.keep_top_k));
  TRTN_TRY(init.attr_double("confidenceThreshold", &conf));
  TRTN_TRY(init.attr_string("codeType", &code));
  TRTN_TRY(init.attr_bool("varianceEncodedInTarget", &p.variance_encoded));
  TRTN_TRY(init.attr_bool("clip", &p.clip));
  TRTN_TRY(init.attr_int("numPriors", &p.num_priors));
  TRTN_TRY(init.attr_int("maxDetections", &p.max_detections));
  if (code == "CORNER")
    p.code = BoxCode::kCorner;
  else if (code == "CENTER_SIZE")
    p.code = BoxCode::kCenterSize;
  else if (code == "CORNER_SIZE")
    p.code = BoxCode::kCornerSize;
  else
    return init.error("unknown codeType '" + code + "' (CORNER, CENTER_SIZE or CORNER_SIZE)");
  if (p.num_classes < 1 || p.num_priors < 1) return init.error("needs num_classes >= 1 and at least one prior");
  if (!(nms >= 0) || !(eta > 0 && eta <= 1)) return init.error("needs nms_threshold >= 0 and eta in (0, 1]");
  if (p.top_k < -1 || p.keep_top_k < -1 || p.max_detections < 1) return init.error("top_k, keep_top_k out of range");
  p.loc_classes = share ? 1 : p.num_classes;
  p.nms_threshold = static_cast<float>(nms);
  p.eta = static_cast<float>(eta);
  p.confidence_threshold = static_cast<float>(conf);
  if (p.background >= p.num_classes) p.background = -1;
  const int64_t priors = p.num_priors;
  if (init.input(0).volume != priors * p.loc_classes * 4) {
    return init.error("loc must hold priors x location classes x 4 = " + std::to_string(priors * p.loc_classes * 4) +
                      " values per image");
  }
  if (init.input(1).volume != priors * p.num_classes) {
    return init.error("conf must hold priors x classes = " + std::to_string(priors * p.num_classes) +
                      " values per image");
  }
  if (init.input(2).dims != std::vector<int64_t>{2, priors * 4}) {
    return init.error("the priors must be [2, " + std::to_string(priors * 4) + "] per image");
  }
  if (init.output(0).dims != std::vector<int64_t>{1, p.max_detections, 7}) {
    return init.error("the output must be [1, " + std::to_string(p.max_detections) + ", 7] per image");
  }
  *out = p;
  return Status::ok();
}

}  // namespace trtn
