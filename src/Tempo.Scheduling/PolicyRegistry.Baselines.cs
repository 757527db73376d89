using Tempo.Scheduling.Baselines;
using Tempo.Scheduling.Ordering;
using Tempo.Scheduling.Prediction;

namespace Tempo.Scheduling;

public static partial class PolicyRegistry
{
    /// <summary>Token budget of vLLM without chunked prefill: max(max_model_len, 2048) with the paper's 8192 context.</summary>
    public const int UnchunkedTokenBudget = 8192;

    /// <summary>Sarathi-Serve's chunked-prefill token budget.</summary>
    public const int ChunkedTokenBudget = 512;

    private static void RegisterBaselines()
    {
        Register(new PolicyInfo("vllm", "vLLM V0: FCFS, prefill-first, no chunked prefill, recompute preemption", UnchunkedTokenBudget,
            _ => new PrefillFirstScheduler("vllm", RequestOrder.EngineQueue)));
        Register(new PolicyInfo("sarathi", "Sarathi-Serve: FCFS, decode-first, chunked prefill (512-token budget)", ChunkedTokenBudget,
            _ => new ChunkedPrefillScheduler("sarathi", RequestOrder.EngineQueue)));
        Register(new PolicyInfo("priority", "vLLM priority: integer priority (lower first), then arrival; chunked prefill", ChunkedTokenBudget,
            _ => new ChunkedPrefillScheduler("priority", RequestOrder.Priority)));
        Register(new PolicyInfo("edf", "EDF (artifact srtf): least time to deadline first, overdue last; chunked prefill", ChunkedTokenBudget,
            _ => new ChunkedPrefillScheduler("edf", DeadlineOrder.Instance)));
        Register(new PolicyInfo("sjf", "LTR-style SJF on the predicted remaining output length; chunked prefill", ChunkedTokenBudget,
            o => new ShortestJobFirstScheduler("sjf", o.Predictor ?? new FixedLengthPredictor())));
        Register(new PolicyInfo("oracle-sjf", "SJF on the true remaining output length (oracle); chunked prefill", ChunkedTokenBudget,
            _ => new ShortestJobFirstScheduler("oracle-sjf", new OracleLengthPredictor())));
        Register(new PolicyInfo("autellix", "Autellix: program-level least attained service, 400-token buckets; chunked prefill", ChunkedTokenBudget,
            _ => new AutellixScheduler()));
        Register(new PolicyInfo("vtc", "VTC: fair share across clients by virtual token counters; prefill-first, no chunking", UnchunkedTokenBudget,
            _ => new VtcScheduler()));
    }
}
