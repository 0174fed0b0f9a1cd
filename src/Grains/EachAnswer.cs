namespace ResultGrid.Grains;

/// <summary>
/// The batch grains' replies: each call of a batch awaited apart, its failure its own reply, so
/// that one call's failure never fails the batch (on a single-retrieval store a read that
/// succeeded has handed its result out; a write that succeeded is stored).
/// </summary>
internal static class EachAnswer
{
    public static async Task<TReply[]> Of<T, TReply>(Task<T>[] pending, Func<T, TReply> answered, Func<Exception, TReply> failed)
    {
        var replies = new TReply[pending.Length];
        for (var i = 0; i < pending.Length; i++)
        {
            try
            {
                replies[i] = answered(await pending[i]);
            }
            catch (Exception ex)
            {
                replies[i] = failed(ex);
            }
        }

        return replies;
    }
}
