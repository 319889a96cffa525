// The @peculiar/x509 reference generator lives with the benchmark that measures against it
// (benchmarks import only from src/ or the package); the differential test uses it from here.
export {
  buildWithX509Library,
  issueWithX509Library,
  type ReferenceCa,
  referenceCa,
} from "../../scripts/bench/x509-reference.js";
