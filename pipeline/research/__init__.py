"""Working with results: comparing documents, measure similarity, the datasets export and search, the HTML report."""
