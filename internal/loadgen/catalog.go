package loadgen

// The catalog holds the vocabulary the generator draws from. Everything here
// comes from the Jeeves telemetry contract (docs/jeeves-telemetry.md#loadgen-vocabulary):
// pipeline and agent names, LLM providers, termination reasons, histogram
// bucket bounds.

// Bucket bounds, in seconds, of the Jeeves metric families
// (docs/jeeves-telemetry.md#bucket-bounds). The generator
// never produces a duration that equals a bound, so a histogram built with
// either inclusive or exclusive upper bounds lands every value in the same
// bucket the manifest reports.
var (
	PipelineBucketBounds = []float64{0.1, 0.5, 1, 2, 5, 10, 30, 60}
	AgentBucketBounds    = []float64{0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10}
	LLMBucketBounds      = []float64{0.1, 0.5, 1, 2, 5, 10, 30, 60}
	DBBucketBounds       = []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1}
)

// Agent names of the reference pipeline, in execution order.
const (
	agentPerception  = "perception"
	agentIntent      = "intent"
	agentPlanner     = "planner"
	agentTraverser   = "traverser"
	agentSynthesizer = "synthesizer"
	agentCritic      = "critic"
	agentIntegration = "integration"
)

// ReferenceAgents lists the agents of the reference pipeline in order.
var ReferenceAgents = []string{
	agentPerception, agentIntent, agentPlanner, agentTraverser,
	agentSynthesizer, agentCritic, agentIntegration,
}

type pipelineDef struct {
	name   string
	weight uint64
	agents []string
}

// Pipelines the generator runs, with their relative frequency.
var pipelineDefs = []pipelineDef{
	{"reference", 40, ReferenceAgents},
	{"code_analysis", 25, []string{agentPerception, agentIntent, agentPlanner, agentTraverser, agentSynthesizer, agentCritic}},
	{"research", 20, []string{agentPerception, agentPlanner, agentTraverser, agentSynthesizer}},
	{"quick_answer", 15, []string{agentPerception, agentIntent, agentSynthesizer}},
}

// PipelineNames lists the pipeline names the generator can emit.
func PipelineNames() []string {
	out := make([]string, len(pipelineDefs))
	for i, p := range pipelineDefs {
		out[i] = p.name
	}
	return out
}

// llmCallRange is how many successful LLM calls each agent makes, [min, max].
var llmCallRange = map[string][2]int{
	agentPerception:  {0, 1},
	agentIntent:      {1, 1},
	agentPlanner:     {1, 2},
	agentTraverser:   {0, 3},
	agentSynthesizer: {1, 2},
	agentCritic:      {1, 1},
	agentIntegration: {0, 1},
}

// agentWeight is the share of pipeline time an agent tends to take.
var agentWeight = map[string]uint64{
	agentPerception:  60,
	agentIntent:      60,
	agentPlanner:     150,
	agentTraverser:   200,
	agentSynthesizer: 150,
	agentCritic:      80,
	agentIntegration: 60,
}

// dbAgents are the agents whose work touches the database.
var dbAgents = map[string]bool{agentPerception: true, agentTraverser: true, agentIntegration: true}

// jeevesProviders lists, per Jeeves provider (llm.provider.call), the models it is
// asked for. "default" is what Jeeves writes when no model is configured.
var jeevesProviders = []struct {
	provider string
	models   []string
}{
	{"llamaserver", []string{"qwen2.5-7b-instruct", "default"}},
	{"openai", []string{"gpt-4o", "gpt-4o-mini"}},
	{"anthropic", []string{"claude-sonnet-4", "claude-3-5-haiku"}},
	{"azure", []string{"gpt-4o", "default"}},
	{"llamacpp", []string{"llama-3.1-8b-instruct", "default"}},
	{"mock", []string{"mock-model", "default"}},
}

// genAIModel is one model served through GenAI-instrumented clients.
type genAIModel struct {
	request  string // gen_ai.request.model
	response string // gen_ai.response.model on success ("" = not reported)
	op       string // gen_ai.operation.name
}

var genAIProviders = []struct {
	provider string
	models   []genAIModel
}{
	{"openai", []genAIModel{
		{"gpt-4o", "gpt-4o-2024-08-06", opChat},
		{"gpt-4o-mini", "gpt-4o-mini-2024-07-18", opChat},
		{"gpt-3.5-turbo-instruct", "", opTextCompletion},
		{"text-embedding-3-small", "text-embedding-3-small", opEmbeddings},
	}},
	{"anthropic", []genAIModel{
		{"claude-sonnet-4", "claude-sonnet-4-20250514", opChat},
		{"claude-3-5-haiku", "", opChat},
	}},
	{"azure.ai.openai", []genAIModel{
		{"gpt-4o", "gpt-4o", opChat},
	}},
}

// GenAI operation names.
const (
	opChat           = "chat"
	opTextCompletion = "text_completion"
	opEmbeddings     = "embeddings"
	opInvokeAgent    = "invoke_agent"
	opExecuteTool    = "execute_tool"
)

// TerminationReasons are the Jeeves termination reasons in their normalised
// lower_snake_case form (docs/jeeves-telemetry.md#terminations); the generator
// writes them in mixed casings.
var TerminationReasons = []string{
	"completed", "completed_successfully", "clarification_required",
	"confirmation_required", "denied_by_policy", "tool_failed_recoverably",
	"tool_failed_fatally", "llm_failed_fatally", "max_iterations_exceeded",
	"max_llm_calls_exceeded", "max_agent_hops_exceeded", "max_loop_exceeded",
	"user_cancelled", "policy_violation",
}

var dbTables = []string{"sessions", "envelopes", "memories", "tool_results", "checkpoints"}

// dbOperation is a canonical upper-case DB operation and its relative
// frequency.
type dbOperation struct {
	op     string
	weight uint64
}

var dbOperations = []dbOperation{
	{"SELECT", 60},
	{"INSERT", 20},
	{"UPDATE", 15},
	{"DELETE", 5},
}

// Weights for pickWeighted, computed once instead of per trace.
var (
	pipelineWeights    = weightsOf(pipelineDefs, func(p pipelineDef) uint64 { return p.weight })
	dbOperationWeights = weightsOf(dbOperations, func(o dbOperation) uint64 { return o.weight })
)

func weightsOf[T any](items []T, weight func(T) uint64) []uint64 {
	out := make([]uint64, len(items))
	for i, it := range items {
		out[i] = weight(it)
	}
	return out
}

var toolNames = []string{"web_search", "code_search", "read_file", "run_tests", "calculator"}

var modelRoles = []string{"default", "planner", "fast", "reasoning"}

var ipcMethods = []string{"ScheduleAgent", "GetProcessState", "RecordUsage", "EmitEvent"}

var exceptionTypes = map[string][]string{
	"llm":      {"ProviderTimeoutError", "RateLimitError", "ProviderUnavailableError"},
	"agent":    {"AgentValidationError", "ToolExecutionError", "OutputParseError"},
	"pipeline": {"PipelineConfigError", "EnvelopeStoreError"},
}

var genAIErrorTypes = []string{"timeout", "rate_limit_exceeded", "500", "connection_error"}

var httpErrorCodes = []int64{500, 502, 503}
