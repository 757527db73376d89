using Tempo.Scheduling.Baselines;

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
            _ => new PrefillFirstScheduler("vllm", RequestOrder.Fcfs)));
        Register(new PolicyInfo("sarathi", "Sarathi-Serve: FCFS, decode-first, chunked prefill (512-token budget)", ChunkedTokenBudget,
            _ => new ChunkedPrefillScheduler("sarathi", RequestOrder.Fcfs)));
    }
}
