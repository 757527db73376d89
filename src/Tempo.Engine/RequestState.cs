namespace Tempo.Engine;

/// <summary>Which queue a request is in.</summary>
public enum RequestState
{
    /// <summary>Not yet admitted, or preempted by recompute (no KV held).</summary>
    Waiting,

    /// <summary>Holds KV blocks on the accelerator.</summary>
    Running,

    /// <summary>KV moved to CPU swap space.</summary>
    Swapped,

    /// <summary>Ended; holds nothing.</summary>
    Finished,
}

/// <summary>How a running request is preempted.</summary>
public enum PreemptionMode
{
    /// <summary>Move its KV to CPU swap space; resume later by swapping back in (costs transfer time both ways).</summary>
    Swap,

    /// <summary>Drop its KV; resume later by prefilling prompt and generated tokens again (costs compute).</summary>
    Recompute,
}
