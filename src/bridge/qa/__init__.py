"""Quality metrics on unified data: agreement, matching, gold scores and consensus."""
