namespace Tempo.LoadGen;

/// <summary>Which OpenAI endpoint the load generator posts to.</summary>
public enum ApiEndpoint
{
    /// <summary><c>POST /v1/completions</c> with a plain <c>prompt</c>: no chat template, so prompt lengths stay closest to the trace.</summary>
    Completions = 0,

    /// <summary><c>POST /v1/chat/completions</c> with one user message; the server's chat template adds a few prompt tokens.</summary>
    Chat = 1,
}
