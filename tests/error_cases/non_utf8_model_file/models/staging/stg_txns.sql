select 1 as café
