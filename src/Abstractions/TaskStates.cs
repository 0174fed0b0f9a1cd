namespace ResultGrid;

/// <summary>
/// Task states, spelled exactly as Celery spells them so that a Celery client sharing a backend
/// reads the same words. Custom states (for example <c>PROGRESS</c>) are any other valid name.
/// </summary>
public static class TaskStates
{
    /// <summary>Not yet known to the backend: also what an unknown id reads as.</summary>
    public const string Pending = "PENDING";
    public const string Started = "STARTED";
    public const string Retry = "RETRY";
    public const string Failure = "FAILURE";
    public const string Success = "SUCCESS";
    public const string Revoked = "REVOKED";

    /// <summary>
    /// ResultGrid only, never written by a worker: a result of a single-retrieval backend (<c>rpc://</c>, or <c>redis://</c> and the <c>db+</c> URLs with <c>?single_retrieval=true</c>) that was already handed
    /// out once. It is not PENDING, so a second reader learns the result existed and is gone.
    /// </summary>
    public const string Consumed = "CONSUMED";

    /// <summary>
    /// ResultGrid only, never written: a stored record whose state could not be read (a Redis
    /// value that is not JSON, a key of another type, an unusable state column). It counts as
    /// READY, so a group counts it as completed and failed and a join never waits on it; the
    /// record's <see cref="TaskResult.Problem"/> says what is wrong.
    /// </summary>
    public const string Unreadable = "UNREADABLE";

    /// <summary>The longest state name accepted (Celery's database column is varchar(50)).</summary>
    public const int MaxStateLength = 50;

    /// <summary>READY states: the task will not change state again by itself.</summary>
    public static bool IsReady(string state) =>
        state is Success or Failure or Revoked or Unreadable;

    /// <summary>States that carry an exception document as their payload.</summary>
    public static bool IsExceptionState(string state) =>
        state is Failure or Retry or Revoked;

    /// <summary>The states with a meaning of their own; everything else that is valid is custom.</summary>
    public static bool IsBuiltIn(string state) =>
        state is Pending or Started or Retry or Failure or Success or Revoked or Consumed or Unreadable;

    /// <summary>
    /// Checks a custom state name for <c>UpdateState</c>: 1–50 characters of letters, digits,
    /// '_', '-' or '.', and not one of the built-in states, which have their own calls.
    /// </summary>
    public static void ValidateCustom(string state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Length == 0 || state.Length > MaxStateLength)
        {
            throw new ArgumentException(
                $"Custom state '{state}' has {state.Length} characters; a state name has 1 to {MaxStateLength}.",
                nameof(state));
        }

        foreach (var c in state)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
            {
                throw new ArgumentException(
                    $"Custom state '{state}' contains '{c}'; a state name uses only ASCII letters, digits, '_', '-' and '.'.",
                    nameof(state));
            }
        }

        if (IsBuiltIn(state))
        {
            throw new ArgumentException(
                $"State '{state}' is built in and has its own call (MarkStarted, MarkRetry, MarkSucceeded, MarkFailed, MarkRevoked); " +
                "UpdateState takes a custom state such as PROGRESS.",
                nameof(state));
        }
    }
}
