"""Contact-centre analytics: KPIs from call events and Erlang staffing."""
