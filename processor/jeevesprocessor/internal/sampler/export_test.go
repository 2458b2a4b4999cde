package sampler

// BenchBatch exposes the benchmark batch to the external comparison benchmark (sampler_test).
var BenchBatch = benchBatch
