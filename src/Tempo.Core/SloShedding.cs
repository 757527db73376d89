namespace Tempo.Core;

/// <summary>
/// The reason a scheduler gives when it sheds a request whose SLO it can no longer meet, so a client or a router can
/// send it elsewhere. The detail of the request's record starts with <see cref="Code"/>; the server answers such a
/// request with HTTP 429 and this code, and counts it.
/// </summary>
public static class SloShedding
{
    /// <summary>Error code (OpenAI-style <c>error.code</c>) and detail prefix of a shed request.</summary>
    public const string Code = "slo_unattainable";

    /// <summary>The record detail for a shed request, with a human-readable reason after the code.</summary>
    public static string Detail(string why) => $"{Code}: {why}";

    /// <summary>True when a record's detail says the request was shed as unattainable.</summary>
    public static bool IsShed(string? detail) => detail is not null && detail.StartsWith(Code, StringComparison.Ordinal);
}
